"""SUMO evaluation of signal controllers (libsumo; optional extra ``traffic``)."""
