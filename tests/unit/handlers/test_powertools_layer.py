"""The Powertools the functions get in AWS (the pinned public layer) is the Powertools tested here."""

from __future__ import annotations

from importlib.metadata import version

import pytest

from stacks.functions import POWERTOOLS_LAYER, POWERTOOLS_LAYER_RELEASE, POWERTOOLS_LAYER_VERSION

INSTALLED = version("aws-lambda-powertools")

# Known and reported (issue 10, part 5): layer 27 ships 3.23.0 while requirements.txt pins and the
# tests run 3.37.0, and no source at hand names the layer version that ships 3.37.0. Only this exact
# pair is tolerated; any other difference fails, and once the two agree the test simply passes.
KNOWN_MISMATCH = (POWERTOOLS_LAYER_RELEASE, INSTALLED) == ("3.23.0", "3.37.0")


@pytest.mark.xfail(KNOWN_MISMATCH, reason="layer 27 ships Powertools 3.23.0, the tests run 3.37.0 (issue 10 part 5)", strict=True)
def test_the_pinned_layer_ships_the_installed_powertools_release():
    assert POWERTOOLS_LAYER.endswith(f":{POWERTOOLS_LAYER_VERSION}")
    assert INSTALLED == POWERTOOLS_LAYER_RELEASE, (
        f"the functions run Powertools {POWERTOOLS_LAYER_RELEASE} (layer {POWERTOOLS_LAYER_VERSION}) in AWS, "
        f"the tests run {INSTALLED}: pin the layer version that ships {INSTALLED}, or install {POWERTOOLS_LAYER_RELEASE}"
    )
