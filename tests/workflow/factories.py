"""Builders for the workflow tests: staff with roles, small BPMN models, deployments.

Process versions and instances only come into being through the services (a version
must be a validated model), so these helpers call the services instead of writing rows.
"""

import itertools
import re
from typing import Any

from rathaus.accounts.models import User
from rathaus.core.models import Municipality
from rathaus.organisation.models import OrgUnit, Role
from rathaus.workflow import services
from rathaus.workflow.models import ProcessVersion
from tests.factories import StaffFactory
from tests.organisation.factories import RoleGrantFactory

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
RATHAUS_NS = "urn:rathaus:workflow:1"


def staff_with_role(
    role: Role | None, unit: OrgUnit | None, *, municipality: Municipality | None = None
) -> User:
    """A staff member holding ``role`` in ``unit`` (with subunits); no grant for None."""
    owner = municipality or (unit.municipality if unit is not None else None)
    user: User = StaffFactory(municipality=owner)
    if role is not None and unit is not None:
        RoleGrantFactory(user=user, role=role, org_unit=unit)
    return user


def bpmn(
    body: str, *, process_id: str = "test_process", head: str = "", name: str = "Test"
) -> bytes:
    """A BPMN document with one executable process whose flow elements are ``body``."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<bpmn:definitions xmlns:bpmn="{BPMN_NS}" xmlns:spiffworkflow="{SPIFF_NS}" '
        f'xmlns:rathaus="{RATHAUS_NS}" id="defs_{process_id}" targetNamespace="urn:test">'
        f"{head}"
        f'<bpmn:process id="{process_id}" name="{name}" isExecutable="true">{body}</bpmn:process>'
        "</bpmn:definitions>"
    ).encode()


def linear(*elements: str, process_id: str = "test_process", head: str = "") -> bytes:
    """start -> elements (each a flow node with an id attribute) -> end, connected in order."""
    ids = ["start"]
    body = ['<bpmn:startEvent id="start"/>']
    for element in elements:
        match = re.search(r'id="([^"]+)"', element)
        assert match, element
        ids.append(match.group(1))
        body.append(element)
    ids.append("end")
    body.append('<bpmn:endEvent id="end"/>')
    for index, (source, target) in enumerate(itertools.pairwise(ids)):
        body.append(f'<bpmn:sequenceFlow id="f{index}" sourceRef="{source}" targetRef="{target}"/>')
    return bpmn("".join(body), process_id=process_id, head=head)


def user_task(element_id: str, *, fields: str = "", extra: str = "", lane_name: str = "") -> str:
    form = f"<rathaus:form>{fields}</rathaus:form>" if fields else ""
    extensions = (
        f"<bpmn:extensionElements>{form}{extra}</bpmn:extensionElements>" if form or extra else ""
    )
    return f'<bpmn:userTask id="{element_id}" name="{element_id}">{extensions}</bpmn:userTask>'


def script_task(element_id: str, script: str) -> str:
    from xml.sax.saxutils import escape

    return (
        f'<bpmn:scriptTask id="{element_id}" name="{element_id}">'
        f"<bpmn:script>{escape(script)}</bpmn:script></bpmn:scriptTask>"
    )


def service_task(
    element_id: str, handler: str, params: dict[str, str] | None = None, retry: str = ""
) -> str:
    from xml.sax.saxutils import quoteattr

    parameters = "".join(
        f'<spiffworkflow:parameter id="{name}" type="any" value={quoteattr(value)}/>'
        for name, value in (params or {}).items()
    )
    return (
        f'<bpmn:serviceTask id="{element_id}" name="{element_id}"><bpmn:extensionElements>'
        f'<spiffworkflow:serviceTaskOperator id="{handler}" resultVariable="{element_id}_result">'
        f"<spiffworkflow:parameters>{parameters}</spiffworkflow:parameters>{retry}"
        "</spiffworkflow:serviceTaskOperator></bpmn:extensionElements></bpmn:serviceTask>"
    )


def deploy(municipality: Municipality, *files: tuple[str, bytes], **kwargs: Any) -> ProcessVersion:
    """Deploy files through the service (the only way a version comes to exist)."""
    return services.process_deploy(municipality=municipality, files=list(files), **kwargs)
