"""One EN 16931 model (business terms BT-, groups BG-) read from UBL 2.1 or CII D16B.

Django-free. Amounts stay decimal strings (exactly as in the document) so the stored JSON
never loses a cent; ``invoice_model`` returns a plain, JSON-serialisable dict.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree

NS = {
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "inv": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "cn": "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}

_SKONTO = re.compile(
    r"#SKONTO#TAGE=(\d+)#PROZENT=(\d+(?:\.\d+)?)#(?:BASISBETRAG=(-?\d+(?:\.\d+)?)#)?"
)


def _text(node: etree._Element, path: str) -> str:
    found = node.xpath(path, namespaces=NS)
    if not found:
        return ""
    value = found[0]
    if isinstance(value, str):
        return " ".join(value.split())
    return " ".join("".join(value.itertext()).split())


def _all(node: etree._Element, path: str) -> list[etree._Element]:
    return list(node.xpath(path, namespaces=NS))


def _amount(node: etree._Element, path: str) -> str:
    raw = _text(node, path)
    if not raw:
        return ""
    try:
        return str(Decimal(raw))
    except InvalidOperation:
        return ""


def _date(raw: str) -> str:
    """ISO date from UBL (2024-01-31) or CII format 102 (20240131); '' if unreadable."""
    digits = raw.replace("-", "").strip()
    if len(digits) != 8 or not digits.isdigit():
        return ""
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:])).isoformat()
    except ValueError:
        return ""


def skonto_terms(text: str) -> list[dict[str, str]]:
    """Cash discounts in the XRechnung notation of BT-20 (#SKONTO#TAGE=14#PROZENT=2.00#)."""
    return [
        {"days": days, "percent": percent, "base": base or ""}
        for days, percent, base in _SKONTO.findall(text or "")
    ]


def _ubl_party(party: etree._Element | None) -> dict[str, Any]:
    if party is None:
        return {}
    return {
        "name": _text(party, "cac:PartyLegalEntity/cbc:RegistrationName")
        or _text(party, "cac:PartyName/cbc:Name"),
        "trading_name": _text(party, "cac:PartyName/cbc:Name"),
        "vat_id": _text(party, "cac:PartyTaxScheme[cac:TaxScheme/cbc:ID='VAT']/cbc:CompanyID"),
        "tax_number": _text(party, "cac:PartyTaxScheme[cac:TaxScheme/cbc:ID!='VAT']/cbc:CompanyID"),
        "legal_id": _text(party, "cac:PartyLegalEntity/cbc:CompanyID"),
        "electronic_address": _text(party, "cbc:EndpointID"),
        "address": {
            "line1": _text(party, "cac:PostalAddress/cbc:StreetName"),
            "line2": _text(party, "cac:PostalAddress/cbc:AdditionalStreetName"),
            "postcode": _text(party, "cac:PostalAddress/cbc:PostalZone"),
            "city": _text(party, "cac:PostalAddress/cbc:CityName"),
            "country": _text(party, "cac:PostalAddress/cac:Country/cbc:IdentificationCode"),
        },
        "contact": {
            "name": _text(party, "cac:Contact/cbc:Name"),
            "phone": _text(party, "cac:Contact/cbc:Telephone"),
            "email": _text(party, "cac:Contact/cbc:ElectronicMail"),
        },
    }


def _ubl(root: etree._Element, credit_note: bool) -> dict[str, Any]:
    line_tag = "cac:CreditNoteLine" if credit_note else "cac:InvoiceLine"
    quantity_tag = "cbc:CreditedQuantity" if credit_note else "cbc:InvoicedQuantity"
    currency = _text(root, "cbc:DocumentCurrencyCode")
    terms = _text(root, "cac:PaymentTerms/cbc:Note")
    total = root.find("cac:LegalMonetaryTotal", NS)
    total = total if total is not None else etree.Element("none")
    return {
        "customization_id": _text(root, "cbc:CustomizationID"),
        "profile_id": _text(root, "cbc:ProfileID"),
        "number": _text(root, "cbc:ID"),
        "issue_date": _date(_text(root, "cbc:IssueDate")),
        "type_code": _text(
            root, "cbc:CreditNoteTypeCode" if credit_note else "cbc:InvoiceTypeCode"
        ),
        "currency": currency,
        "due_date": _date(
            _text(root, "cbc:DueDate") or _text(root, "cac:PaymentMeans/cbc:PaymentDueDate")
        ),
        "buyer_reference": _text(root, "cbc:BuyerReference"),
        "order_reference": _text(root, "cac:OrderReference/cbc:ID"),
        "contract_reference": _text(root, "cac:ContractDocumentReference/cbc:ID"),
        "project_reference": _text(root, "cac:ProjectReference/cbc:ID"),
        "preceding_invoice": _text(
            root, "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID"
        ),
        "notes": [_text(n, ".") for n in _all(root, "cbc:Note")],
        "period": {
            "start": _date(_text(root, "cac:InvoicePeriod/cbc:StartDate")),
            "end": _date(_text(root, "cac:InvoicePeriod/cbc:EndDate")),
        },
        "seller": _ubl_party(root.find("cac:AccountingSupplierParty/cac:Party", NS)),
        "buyer": _ubl_party(root.find("cac:AccountingCustomerParty/cac:Party", NS)),
        "payment": {
            "means_code": _text(root, "cac:PaymentMeans/cbc:PaymentMeansCode"),
            "remittance": _text(root, "cac:PaymentMeans/cbc:PaymentID"),
            "iban": _text(root, "cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID"),
            "account_name": _text(root, "cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:Name"),
            "bic": _text(
                root,
                "cac:PaymentMeans/cac:PayeeFinancialAccount/cac:FinancialInstitutionBranch/cbc:ID",
            ),
            "terms": terms,
            "skonto": skonto_terms(terms),
        },
        "totals": {
            "line_net": _amount(total, "cbc:LineExtensionAmount"),
            "allowances": _amount(total, "cbc:AllowanceTotalAmount"),
            "charges": _amount(total, "cbc:ChargeTotalAmount"),
            "net": _amount(total, "cbc:TaxExclusiveAmount"),
            "vat": _amount(root, f"cac:TaxTotal/cbc:TaxAmount[@currencyID='{currency}']")
            if currency.isalpha()
            else "",
            "gross": _amount(total, "cbc:TaxInclusiveAmount"),
            "prepaid": _amount(total, "cbc:PrepaidAmount"),
            "rounding": _amount(total, "cbc:PayableRoundingAmount"),
            "due": _amount(total, "cbc:PayableAmount"),
        },
        "vat_breakdown": [
            {
                "category": _text(sub, "cac:TaxCategory/cbc:ID"),
                "rate": _amount(sub, "cac:TaxCategory/cbc:Percent"),
                "taxable": _amount(sub, "cbc:TaxableAmount"),
                "amount": _amount(sub, "cbc:TaxAmount"),
                "exemption_reason": _text(sub, "cac:TaxCategory/cbc:TaxExemptionReason"),
            }
            for sub in _all(root, "cac:TaxTotal/cac:TaxSubtotal")
        ],
        "allowances_charges": [
            {
                "charge": _text(ac, "cbc:ChargeIndicator") == "true",
                "amount": _amount(ac, "cbc:Amount"),
                "reason": _text(ac, "cbc:AllowanceChargeReason"),
                "vat_category": _text(ac, "cac:TaxCategory/cbc:ID"),
                "vat_rate": _amount(ac, "cac:TaxCategory/cbc:Percent"),
            }
            for ac in _all(root, "cac:AllowanceCharge")
        ],
        "lines": [
            {
                "id": _text(line, "cbc:ID"),
                "note": _text(line, "cbc:Note"),
                "name": _text(line, "cac:Item/cbc:Name"),
                "quantity": _amount(line, quantity_tag),
                "unit": _text(line, f"{quantity_tag}/@unitCode"),
                "price": _amount(line, "cac:Price/cbc:PriceAmount"),
                "net": _amount(line, "cbc:LineExtensionAmount"),
                "vat_category": _text(line, "cac:Item/cac:ClassifiedTaxCategory/cbc:ID"),
                "vat_rate": _amount(line, "cac:Item/cac:ClassifiedTaxCategory/cbc:Percent"),
            }
            for line in _all(root, line_tag)
        ],
        "attachments": [
            {
                "id": _text(ref, "cbc:ID"),
                "description": _text(ref, "cbc:DocumentDescription"),
                "filename": _text(ref, "cac:Attachment/cbc:EmbeddedDocumentBinaryObject/@filename"),
                "mime": _text(ref, "cac:Attachment/cbc:EmbeddedDocumentBinaryObject/@mimeCode"),
                "uri": _text(ref, "cac:Attachment/cac:ExternalReference/cbc:URI"),
            }
            for ref in _all(root, "cac:AdditionalDocumentReference")
        ],
    }


def _cii_party(party: etree._Element | None) -> dict[str, Any]:
    if party is None:
        return {}
    return {
        "name": _text(party, "ram:Name"),
        "trading_name": _text(party, "ram:SpecifiedLegalOrganization/ram:TradingBusinessName"),
        "vat_id": _text(party, "ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']"),
        "tax_number": _text(party, "ram:SpecifiedTaxRegistration/ram:ID[@schemeID='FC']"),
        "legal_id": _text(party, "ram:SpecifiedLegalOrganization/ram:ID"),
        "electronic_address": _text(party, "ram:URIUniversalCommunication/ram:URIID"),
        "address": {
            "line1": _text(party, "ram:PostalTradeAddress/ram:LineOne"),
            "line2": _text(party, "ram:PostalTradeAddress/ram:LineTwo"),
            "postcode": _text(party, "ram:PostalTradeAddress/ram:PostcodeCode"),
            "city": _text(party, "ram:PostalTradeAddress/ram:CityName"),
            "country": _text(party, "ram:PostalTradeAddress/ram:CountryID"),
        },
        "contact": {
            "name": _text(party, "ram:DefinedTradeContact/ram:PersonName"),
            "phone": _text(
                party,
                "ram:DefinedTradeContact/ram:TelephoneUniversalCommunication/ram:CompleteNumber",
            ),
            "email": _text(
                party, "ram:DefinedTradeContact/ram:EmailURIUniversalCommunication/ram:URIID"
            ),
        },
    }


def _cii(root: etree._Element) -> dict[str, Any]:
    transaction = root.find("rsm:SupplyChainTradeTransaction", NS)
    transaction = transaction if transaction is not None else etree.Element("none")
    agreement = "ram:ApplicableHeaderTradeAgreement"
    settlement_node = transaction.find("ram:ApplicableHeaderTradeSettlement", NS)
    settlement = settlement_node if settlement_node is not None else etree.Element("none")
    sums = "ram:SpecifiedTradeSettlementHeaderMonetarySummation"
    currency = _text(settlement, "ram:InvoiceCurrencyCode")
    terms = _text(settlement, "ram:SpecifiedTradePaymentTerms/ram:Description")
    means = "ram:SpecifiedTradeSettlementPaymentMeans"
    return {
        "customization_id": _text(
            root,
            "rsm:ExchangedDocumentContext/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID",
        ),
        "profile_id": _text(
            root,
            "rsm:ExchangedDocumentContext/ram:BusinessProcessSpecifiedDocumentContextParameter/ram:ID",
        ),
        "number": _text(root, "rsm:ExchangedDocument/ram:ID"),
        "issue_date": _date(
            _text(root, "rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString")
        ),
        "type_code": _text(root, "rsm:ExchangedDocument/ram:TypeCode"),
        "currency": currency,
        "due_date": _date(
            _text(
                settlement, "ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime/udt:DateTimeString"
            )
        ),
        "buyer_reference": _text(transaction, f"{agreement}/ram:BuyerReference"),
        "order_reference": _text(
            transaction, f"{agreement}/ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID"
        ),
        "contract_reference": _text(
            transaction, f"{agreement}/ram:ContractReferencedDocument/ram:IssuerAssignedID"
        ),
        "project_reference": _text(
            transaction, f"{agreement}/ram:SpecifiedProcuringProject/ram:ID"
        ),
        "preceding_invoice": _text(
            settlement, "ram:InvoiceReferencedDocument/ram:IssuerAssignedID"
        ),
        "notes": [
            _text(n, ".") for n in _all(root, "rsm:ExchangedDocument/ram:IncludedNote/ram:Content")
        ],
        "period": {
            "start": _date(
                _text(settlement, "ram:BillingSpecifiedPeriod/ram:StartDateTime/udt:DateTimeString")
            ),
            "end": _date(
                _text(settlement, "ram:BillingSpecifiedPeriod/ram:EndDateTime/udt:DateTimeString")
            ),
        },
        "seller": _cii_party(transaction.find(f"{agreement}/ram:SellerTradeParty", NS)),
        "buyer": _cii_party(transaction.find(f"{agreement}/ram:BuyerTradeParty", NS)),
        "payment": {
            "means_code": _text(settlement, f"{means}/ram:TypeCode"),
            "remittance": _text(settlement, "ram:PaymentReference"),
            "iban": _text(settlement, f"{means}/ram:PayeePartyCreditorFinancialAccount/ram:IBANID")
            or _text(
                settlement, f"{means}/ram:PayeePartyCreditorFinancialAccount/ram:ProprietaryID"
            ),
            "account_name": _text(
                settlement, f"{means}/ram:PayeePartyCreditorFinancialAccount/ram:AccountName"
            ),
            "bic": _text(
                settlement, f"{means}/ram:PayeeSpecifiedCreditorFinancialInstitution/ram:BICID"
            ),
            "terms": terms,
            "skonto": skonto_terms(terms),
        },
        "totals": {
            "line_net": _amount(settlement, f"{sums}/ram:LineTotalAmount"),
            "allowances": _amount(settlement, f"{sums}/ram:AllowanceTotalAmount"),
            "charges": _amount(settlement, f"{sums}/ram:ChargeTotalAmount"),
            "net": _amount(settlement, f"{sums}/ram:TaxBasisTotalAmount"),
            "vat": _amount(settlement, f"{sums}/ram:TaxTotalAmount[@currencyID='{currency}']")
            if currency.isalpha()
            else "",
            "gross": _amount(settlement, f"{sums}/ram:GrandTotalAmount"),
            "prepaid": _amount(settlement, f"{sums}/ram:TotalPrepaidAmount"),
            "rounding": _amount(settlement, f"{sums}/ram:RoundingAmount"),
            "due": _amount(settlement, f"{sums}/ram:DuePayableAmount"),
        },
        "vat_breakdown": [
            {
                "category": _text(tax, "ram:CategoryCode"),
                "rate": _amount(tax, "ram:RateApplicablePercent"),
                "taxable": _amount(tax, "ram:BasisAmount"),
                "amount": _amount(tax, "ram:CalculatedAmount"),
                "exemption_reason": _text(tax, "ram:ExemptionReason"),
            }
            for tax in _all(settlement, "ram:ApplicableTradeTax")
        ],
        "allowances_charges": [
            {
                "charge": _text(ac, "ram:ChargeIndicator/udt:Indicator") == "true",
                "amount": _amount(ac, "ram:ActualAmount"),
                "reason": _text(ac, "ram:Reason"),
                "vat_category": _text(ac, "ram:CategoryTradeTax/ram:CategoryCode"),
                "vat_rate": _amount(ac, "ram:CategoryTradeTax/ram:RateApplicablePercent"),
            }
            for ac in _all(settlement, "ram:SpecifiedTradeAllowanceCharge")
        ],
        "lines": [
            {
                "id": _text(line, "ram:AssociatedDocumentLineDocument/ram:LineID"),
                "note": _text(
                    line, "ram:AssociatedDocumentLineDocument/ram:IncludedNote/ram:Content"
                ),
                "name": _text(line, "ram:SpecifiedTradeProduct/ram:Name"),
                "quantity": _amount(line, "ram:SpecifiedLineTradeDelivery/ram:BilledQuantity"),
                "unit": _text(line, "ram:SpecifiedLineTradeDelivery/ram:BilledQuantity/@unitCode"),
                "price": _amount(
                    line,
                    "ram:SpecifiedLineTradeAgreement/ram:NetPriceProductTradePrice/ram:ChargeAmount",
                ),
                "net": _amount(
                    line,
                    "ram:SpecifiedLineTradeSettlement/"
                    "ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount",
                ),
                "vat_category": _text(
                    line, "ram:SpecifiedLineTradeSettlement/ram:ApplicableTradeTax/ram:CategoryCode"
                ),
                "vat_rate": _amount(
                    line,
                    "ram:SpecifiedLineTradeSettlement/ram:ApplicableTradeTax/ram:RateApplicablePercent",
                ),
            }
            for line in _all(transaction, "ram:IncludedSupplyChainTradeLineItem")
        ],
        "attachments": [
            {
                "id": _text(ref, "ram:IssuerAssignedID"),
                "description": _text(ref, "ram:Name"),
                "filename": _text(ref, "ram:AttachmentBinaryObject/@filename"),
                "mime": _text(ref, "ram:AttachmentBinaryObject/@mimeCode"),
                "uri": _text(ref, "ram:URIID"),
            }
            for ref in _all(transaction, f"{agreement}/ram:AdditionalReferencedDocument")
        ],
    }


def invoice_model(root: etree._Element) -> dict[str, Any]:
    """The EN 16931 model of a parsed UBL Invoice, UBL CreditNote or CII document.

    Raises ``ValueError`` for any other root element.
    """
    name = etree.QName(root)
    if name.namespace == NS["inv"] and name.localname == "Invoice":
        model = _ubl(root, credit_note=False)
        model["syntax"] = "ubl-invoice"
    elif name.namespace == NS["cn"] and name.localname == "CreditNote":
        model = _ubl(root, credit_note=True)
        model["syntax"] = "ubl-creditnote"
    elif name.namespace == NS["rsm"] and name.localname == "CrossIndustryInvoice":
        model = _cii(root)
        model["syntax"] = "cii"
    else:
        raise ValueError(f"not an e-invoice: {name.text}")
    return model
