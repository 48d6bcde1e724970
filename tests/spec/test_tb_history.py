"""``tb_history``: active tuberculosis, untreated latent tuberculosis, or a chest X-ray consistent with it."""

from conftest import spec_tables

TABLE = """
    patient          | tb_status | latent_tb_treated | chest_xray
    NEGATIVE         | negative  |                   | normal
    ACTIVE           | active    |                   | normal
    LATENT           | latent    | false             | normal
    LATENT_TREATED   | latent    | true              | normal
    LATENT_UNKNOWN   | latent    |                   | normal
    XRAY_ONLY        | negative  |                   | tb_or_fungal
    NO_STATUS        |           |                   | normal
    NO_STATUS_XRAY   |           |                   | tb_or_fungal
    NEGATIVE_NO_XRAY | negative  |                   |
"""


def test_active_untreated_latent_or_xray(engine):
    assert engine(spec_tables(TABLE), "tb_history") == {
        "NEGATIVE": False, "ACTIVE": True, "LATENT": True, "LATENT_TREATED": False, "LATENT_UNKNOWN": None,
        "XRAY_ONLY": True, "NO_STATUS": None, "NO_STATUS_XRAY": True, "NEGATIVE_NO_XRAY": None}


def test_latent_and_xray_are_parameters(engine):
    assert engine(spec_tables(TABLE), "tb_history", unless_treated=False, chest_xray=False) == {
        "NEGATIVE": False, "ACTIVE": True, "LATENT": True, "LATENT_TREATED": True, "LATENT_UNKNOWN": True,
        "XRAY_ONLY": False, "NO_STATUS": None, "NO_STATUS_XRAY": None, "NEGATIVE_NO_XRAY": False}
    assert engine(spec_tables(TABLE), "tb_history", latent=False, chest_xray=False) == {
        "NEGATIVE": False, "ACTIVE": True, "LATENT": False, "LATENT_TREATED": False, "LATENT_UNKNOWN": False,
        "XRAY_ONLY": False, "NO_STATUS": None, "NO_STATUS_XRAY": None, "NEGATIVE_NO_XRAY": False}
