"""Recorded price figures for estimates: dated and sourced, never current AWS prices."""

from __future__ import annotations

from decimal import Decimal

from lambdas.domain.catalogue.schema import PriceInputs

# --- Prices ---------------------------------------------------------------------------------------
# AWS's pricing page (https://aws.amazon.com/bedrock/pricing/) as the search tool stores it, read
# 2026-12-04: every stored copy (including /vi/ and /it/) returns only the page's overview; no figure for
# model customization, custom-model storage or provisioned throughput is in what it returns. The figures
# below come from two transcriptions of AWS's own prices and say so:
#   * api-evangelist/amazon-nova plans/amazon-nova-plans-pricing.yml (commit 97c0aa2): AWS Price List Bulk
#     API, offer AmazonBedrock, us-east-1, version 20260901205051 (published 2026-09-01);
#   * convo-lang/convo-lang packages/convo-lang-bedrock/bedrock-pricing.md: the pricing page on 2025-07-20.
# Both give the same Nova per-token rates. A custom Nova model deployed on demand is billed "at the standard
# rate for the model" (AWS ML blog, customize-amazon-nova-models-with-amazon-bedrock-fine-tuning, read
# 2026-12-04). Provisioned-throughput rates are in the first transcription only. No source we read gives a
# Nova training price per 1,000 tokens or a storage price: those stay None (unpriced) until configured.
_PRICE_LIST_2026_09 = (
    "AWS Price List Bulk API AmazonBedrock us-east-1 version 20260901205051, as transcribed in "
    "https://github.com/api-evangelist/amazon-nova/blob/97c0aa270bfa98a5859c8974e12d07b1a4d88987/plans/amazon-nova-plans-pricing.yml"
    " (agrees with https://github.com/convo-lang/convo-lang/blob/main/packages/convo-lang-bedrock/bedrock-pricing.md, 2025-07-20);"
    " custom on-demand at the base rate per https://aws.amazon.com/blogs/machine-learning/customize-amazon-nova-models-with-amazon-bedrock-fine-tuning"
)
_NOVA_THROUGHPUT = {"none": Decimal("60.50"), "OneMonth": Decimal("55.00"), "SixMonths": Decimal("30.25")}
_NOVA_NOTE = "no training or storage price for Nova in any source read on 2026-12-04: configure them; throughput rates from one transcription only"


def _nova_prices(input_per_1k: str, output_per_1k: str) -> PriceInputs:
    return PriceInputs(
        on_demand_input_per_1k=Decimal(input_per_1k),
        on_demand_output_per_1k=Decimal(output_per_1k),
        throughput_per_unit_hour=_NOVA_THROUGHPUT,
        as_of="2026-09-01",
        source=_PRICE_LIST_2026_09,
        note=_NOVA_NOTE,
    )


# Cohere and Titan Lite: the pricing page as transcribed on 2024-03-13 (becloudready/beautiful-jekyll
# _posts/2024-03-13-aws-bedrock-pricing.md) and in public write-ups. Those models are no longer customizable.
_OLD_PRICE_SOURCE = "Amazon Bedrock pricing page (us-east-1) as transcribed on 2024-03-13 in https://github.com/becloudready/beautiful-jekyll/blob/master/_posts/2024-03-13-aws-bedrock-pricing.md and in public write-ups"
PRICES: dict[str, PriceInputs] = {
    "amazon.nova-micro-v1:0:128k": _nova_prices("0.000035", "0.00014"),
    "amazon.nova-lite-v1:0:300k": _nova_prices("0.00006", "0.00024"),
    "amazon.nova-pro-v1:0:300k": _nova_prices("0.0008", "0.0032"),
    "cohere.command-text-v14:7:4k": PriceInputs(
        training_per_1k_tokens=Decimal("0.004"),
        storage_per_month=Decimal("1.95"),
        throughput_per_unit_hour={"none": Decimal("49.50")},
        as_of="2024-03",
        source=_OLD_PRICE_SOURCE,
    ),
    "cohere.command-light-text-v14:7:4k": PriceInputs(
        training_per_1k_tokens=Decimal("0.001"),
        storage_per_month=Decimal("1.95"),
        throughput_per_unit_hour={"none": Decimal("8.56")},
        as_of="2024-03",
        source=_OLD_PRICE_SOURCE,
    ),
    "amazon.titan-text-lite-v1:0:4k": PriceInputs(
        training_per_1k_tokens=Decimal("0.0004"),
        storage_per_month=Decimal("1.95"),
        as_of="2025-02",
        source=_OLD_PRICE_SOURCE,
        note="provisioned-throughput price not recorded",
    ),
}
