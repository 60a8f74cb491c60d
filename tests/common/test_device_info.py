"""Device info shared by the local connections: the "Visit" link and entry titles."""

from __future__ import annotations

from custom_components.energy_flex.vendors.base import IdentifiedDevice, entry_title, web_ui_url


def test_web_ui_url_is_port_80_of_the_host() -> None:
    """The device's web interface, IPv6 literals bracketed; never an API port by accident."""
    assert web_ui_url("192.168.1.20") == "http://192.168.1.20"
    assert web_ui_url("fems.local") == "http://fems.local"
    assert web_ui_url("fd00::20") == "http://[fd00::20]"
    assert web_ui_url("192.168.1.20", 8080) == "http://192.168.1.20:8080"


def test_titles_name_the_connection_where_a_product_has_several() -> None:
    """ "FEMS fems12345 (local REST)" and "… (local Modbus)" can be told apart."""
    assert entry_title("FEMS fems12345", "local REST") == "FEMS fems12345 (local REST)"
    assert entry_title("sonnenBatterie 330123", None) == "sonnenBatterie 330123"
    device = IdentifiedDevice.by_address({"host": "10.0.0.5", "port": 502}, "FEMS", "local Modbus")
    assert device == IdentifiedDevice("10.0.0.5:502", "FEMS 10.0.0.5 (local Modbus)", True)
