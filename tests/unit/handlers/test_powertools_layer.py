"""The Powertools the functions get in AWS (the pinned public layer) is the Powertools tested here."""

from __future__ import annotations

from importlib.metadata import version

from stacks.functions import POWERTOOLS_LAYER, POWERTOOLS_LAYER_RELEASE, POWERTOOLS_LAYER_VERSION

INSTALLED = version("aws-lambda-powertools")


def test_the_pinned_layer_ships_the_installed_powertools_release():
    assert POWERTOOLS_LAYER.endswith(f":{POWERTOOLS_LAYER_VERSION}")
    assert INSTALLED == POWERTOOLS_LAYER_RELEASE, (
        f"the functions run Powertools {POWERTOOLS_LAYER_RELEASE} (layer {POWERTOOLS_LAYER_VERSION}) in AWS, "
        f"the tests run {INSTALLED}: pin the layer version that ships {INSTALLED}, or install {POWERTOOLS_LAYER_RELEASE}"
    )
