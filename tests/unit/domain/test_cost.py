from decimal import Decimal

import pytest

from lambdas.domain.catalogue import PriceInputs
from lambdas.domain.cost import CostEstimate, EvaluationPlan, actual_cost, estimate_cost
from lambdas.domain.profiles import Commitment, Throughput
from lambdas.domain.validation import validate_dataset
from tests.unit.domain.helpers import COHERE, LLAMA_31_8B, NOVA_2_LITE, NOVA_MICRO, TITAN_EXPRESS, jsonl

PRICES = PriceInputs(
    training_per_1k_tokens=Decimal("0.008"),
    storage_per_month=Decimal("1.95"),
    throughput_per_unit_hour={"none": Decimal("20.50"), "OneMonth": Decimal("18.40"), "SixMonths": Decimal("14.80")},
    as_of="2099-01",
    source="test sheet",
)


def test_against_hand_computed_numbers():
    # The run: 2,500,000 tokens x 3 epochs = 7,500,000 billable; 7,500 x $0.008 = $60.00; storage 2 months
    # x $1.95 = $3.90. A promotion keeps 2 MU x $18.40 x 730 h = $26,864.00 + $1.95 storage a month.
    e = estimate_cost(
        2_500_000,
        TITAN_EXPRESS,
        {"epochCount": "3"},
        Throughput(model_units=2, commitment=Commitment.ONE_MONTH),
        100,
        prices=PRICES,
        storage_months=2,
        monthly_cap=30_000,
    )
    assert e.billable_tokens == 7_500_000 and e.epochs == 3
    assert {line.item: line.amount for line in e.lines} == {
        "training": Decimal("60.000"),
        "model storage": Decimal("3.90"),
    }
    assert {line.item: line.amount for line in e.monthly_lines} == {
        "production throughput": Decimal("26864.00"),
        "model storage": Decimal("1.95"),
    }
    assert e.total == Decimal("63.90") and e.monthly_total == Decimal("26865.95")
    assert e.complete and e.within_budget is True and e.within_monthly_cap is True
    assert e.throughput_per_hour == Decimal("36.80")
    assert "7,500 tokens" not in e.lines[0].basis and "7,500,000 tokens / 1,000 x $0.008" in e.lines[0].basis
    assert any("cannot be cancelled" in a and "$26864.00" in a for a in e.assumptions)
    assert any("not current AWS prices" in a for a in e.assumptions)


def test_the_run_and_the_promotion_have_separate_caps():
    e = estimate_cost(1_000_000, COHERE, {"epochCount": 3}, Throughput(model_units=2), 500, monthly_cap=1_000)
    # recorded Cohere Command figures: $0.004 / 1k tokens, $1.95 storage, $49.50 per MU-hour without commitment
    assert e.to_dict()["lines"] == [
        {"item": "training", "amount_usd": "12.00", "basis": "3,000,000 tokens / 1,000 x $0.004 per 1,000 tokens"},
        {"item": "model storage", "amount_usd": "1.95", "basis": "1 month(s) x $1.95 per custom model per month"},
    ]
    assert e.to_dict()["monthly_lines"][0] == {
        "item": "production throughput",
        "amount_usd": "72270.00",
        "basis": "2 model unit(s) x $49.50 per unit-hour (none) x 730 h a month",
    }
    assert e.within_budget is True and e.within_monthly_cap is False
    assert any("bills every hour until it is deleted" in a for a in e.assumptions)
    assert (
        estimate_cost(1_000_000, COHERE, {"epochCount": 3}, Throughput(model_units=2), 500).within_monthly_cap is None
    )


NOVA_PRICED = {"training_per_1k_tokens": "0.001", "storage_per_month": "1.95"}


def _plan(**changes):
    plan = dict(
        examples=50,
        prompt_tokens=2_000,
        reference_tokens=3_000,
        answer_tokens=512,
        candidate_on_demand=True,
        candidate_why="on demand in us-east-1",
        model_units=1,
        endpoint_hours=4,
        baseline_model="amazon.nova-micro-v1:0",
        judge_model="us.amazon.nova-pro-v1:0",
        judge_overhead_tokens=40,
    )
    return EvaluationPlan(**{**plan, **changes})


def test_evaluation_is_in_the_run():
    e = estimate_cost(10_000, NOVA_MICRO, {"epochCount": 1}, Throughput(), 50, prices=NOVA_PRICED, evaluation=_plan())
    amounts = {line.item: line.amount for line in e.lines}
    # Nova Micro on demand $0.000035 in / $0.00014 out per 1,000: 2,000 prompt tokens and 50 x 512 answer
    # tokens at most, for the candidate and again for the baseline.
    assert (
        amounts["evaluation: candidate on demand"]
        == amounts["evaluation: baseline"]
        == Decimal("0.00007") + Decimal("0.003584")
    )
    # The judge (Nova Pro, $0.0008 / $0.0032) reads both answers with their prompt, reference and its own
    # instructions: 2 x (2,000 + 3,000 + 50 x 40) + 2 x 25,600 = 65,200 tokens; it writes 100 x 10.
    assert amounts["evaluation: judge"] == Decimal("0.05216") + Decimal("0.0032")
    assert e.within_budget is True
    provisioned = estimate_cost(
        10_000,
        NOVA_MICRO,
        {"epochCount": 1},
        Throughput(),
        50,
        prices=NOVA_PRICED,
        evaluation=_plan(candidate_on_demand=False, model_units=2),
    )
    throughput = next(line for line in provisioned.lines if line.item == "evaluation: candidate throughput")
    assert throughput.amount == Decimal("60.50") * 2 * 4 and provisioned.within_budget is False  # $484 over a $50 cap


def test_an_unpriced_judge_leaves_the_run_unverifiable():
    e = estimate_cost(
        10_000,
        NOVA_MICRO,
        {"epochCount": 1},
        Throughput(),
        50,
        prices=NOVA_PRICED,
        evaluation=_plan(judge_model="someone.elses-model-v1"),
    )
    assert [line.item for line in e.unpriced] == ["evaluation: judge"] and e.within_budget is None
    assert "someone.elses-model-v1" in e.unpriced[0].basis


def test_default_epochs_and_tokens_from_a_report():
    report = validate_dataset(
        jsonl(*[{"prompt": "x" * 600, "completion": "y" * 600}] * 1), TITAN_EXPRESS, "FINE_TUNING"
    )
    e = estimate_cost(report, TITAN_EXPRESS, prices=PRICES)
    assert (e.training_tokens, e.epochs, e.billable_tokens) == (200, 5, 1000)
    assert e.lines[0].amount == Decimal("0.008")
    assert any("default of 5" in a for a in e.assumptions)


def test_unknown_prices_are_unknown_not_zero():
    e = estimate_cost(1000, LLAMA_31_8B, None, Throughput(commitment=Commitment.SIX_MONTHS), 10)
    assert not e.complete and all(line.amount is None for line in e.lines)
    assert e.within_budget is None
    assert any("no price figures are recorded" in a for a in e.assumptions)
    e = estimate_cost(10**9, LLAMA_31_8B, None, None, 10, prices={"training_per_1k_tokens": "0.001"})
    assert not e.complete and e.within_budget is False  # the known part alone exceeds the cap


def test_distillation_and_on_demand_notes_and_round_trip():
    e = estimate_cost(
        1000, NOVA_MICRO, {"epochCount": 1}, Throughput(), None, customization_type="DISTILLATION", prices=PRICES
    )
    assert any("teacher" in a for a in e.assumptions) and any("on demand" in a for a in e.assumptions)
    assert CostEstimate.from_dict(e.to_dict()).to_dict() == e.to_dict()


def test_bad_inputs():
    with pytest.raises(TypeError):
        estimate_cost(-1, NOVA_MICRO)
    with pytest.raises(ValueError):
        estimate_cost(1, NOVA_MICRO, throughput=type("T", (), {"model_units": 1, "commitment": "Forever"})())


def test_training_is_unpriced_when_the_epoch_count_is_unknown():
    # Nova 2 Lite publishes no default epochCount: tokens x epochs cannot be computed, so no figure.
    e = estimate_cost(
        10_000, NOVA_2_LITE, None, prices={"training_per_1k_tokens": "0.001", "storage_per_month": "1.95"}
    )
    assert e.epochs is None and e.billable_tokens is None and not e.complete
    assert e.lines[0].amount is None and "epochCount" in e.lines[0].basis
    assert CostEstimate.from_dict(e.to_dict()).to_dict() == e.to_dict()
    e = estimate_cost(
        10_000, NOVA_2_LITE, {"epochCount": 3}, prices={"training_per_1k_tokens": "0.001", "storage_per_month": "1.95"}
    )
    assert e.billable_tokens == 30_000 and e.lines[0].amount == Decimal("0.03") and e.complete


def _spent_item(**changes):
    estimate = estimate_cost(
        1_000_000,
        NOVA_MICRO,
        {"epochCount": 2},
        Throughput(),
        50,
        prices=NOVA_PRICED,
        evaluation=_plan(judge_model="us.amazon.nova-pro-v1:0"),
    ).to_dict()
    item = {
        "estimate": estimate,
        "job_arn": "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/x",
        "job_status": "Completed",
        "trained_epochs": 3,  # the job's own count wins over the estimate's 2
        "endpoints": [
            {
                "kind": "custom-model-deployment",
                "purpose": "evaluation",
                "requested_at": "2026-12-04T10:00:00+00:00",
                "deleted_at": "2026-12-04T10:20:00+00:00",
            },
            {
                "kind": "provisioned-throughput",
                "purpose": "production",
                "model_units": 2,
                "requested_at": "2026-12-04T10:30:00+00:00",
            },
        ],
        "evaluation_usage": {
            "candidate": {"calls": 50, "input_tokens": 4_000, "output_tokens": 10_000},
            "baseline": {"calls": 50, "input_tokens": 4_000, "output_tokens": 20_000},
            "judge": {"calls": 100, "input_tokens": 60_000, "output_tokens": 300},
        },
    }
    return {**item, **changes}


def test_what_a_run_spent_is_priced_from_what_it_recorded():
    from datetime import datetime

    spent = actual_cost(_spent_item(), now=datetime.fromisoformat("2026-12-04T12:10:00+00:00"))
    amounts = {line["item"]: Decimal(line["amount_usd"]) for line in spent["lines"]}
    # training: 1,000,000 tokens x the job's 3 epochs x $0.001 per 1,000 = $3.00
    # production: 2 units x $60.50 x 2 h (10:30 to 12:10, a started hour counts whole) = $242.00, so far
    # candidate on its deployment, by Converse's count: 4 x $0.000035 + 10 x $0.00014 = $0.00154
    # baseline: 4 x $0.000035 + 20 x $0.00014 = $0.00294; judge: 60 x $0.0008 + 0.3 x $0.0032 = $0.04896
    assert amounts == {
        "training": Decimal("3.00"),
        "production throughput": Decimal("242.00"),
        "evaluation: candidate": Decimal("0.00"),
        "evaluation: baseline": Decimal("0.00"),
        "evaluation: judge": Decimal("0.05"),
    }
    assert spent["total_usd"] == "245.05" and spent["complete"] is True
    production = next(line for line in spent["lines"] if line["item"] == "production throughput")
    assert "still running: so far" in production["basis"] and "x 2 h" in production["basis"]
    assert "3 epoch(s) the job ran" in spent["lines"][0]["basis"]


def test_a_failed_job_and_a_committed_term_are_spent_as_aws_bills_them():
    from datetime import datetime

    committed = [
        {
            "kind": "provisioned-throughput",
            "purpose": "production",
            "model_units": 1,
            "commitment": "OneMonth",
            "requested_at": "2026-12-04T10:30:00+00:00",
            "deleted_at": "2026-12-04T10:40:00+00:00",
        }
    ]
    spent = actual_cost(
        _spent_item(job_status="Failed", endpoints=committed, evaluation_usage={}),
        now=datetime.fromisoformat("2026-12-04T11:00:00+00:00"),
    )
    training, throughput = spent["lines"]
    assert training["amount_usd"] is None and "ended Failed" in training["basis"] and spent["complete"] is False
    # A OneMonth term is billed in full: 1 unit x $55.00 x 730 h = $40,150.00, deleted after ten minutes or not.
    assert throughput["amount_usd"] == "40150.00" and "billed whether used or not" in throughput["basis"]
    # A provisioned candidate is paid by the hour, so its tokens are not priced a second time.
    on_throughput = _spent_item(
        endpoints=[
            {
                "kind": "provisioned-throughput",
                "purpose": "evaluation",
                "model_units": 1,
                "requested_at": "2026-12-04T10:00:00+00:00",
                "deleted_at": "2026-12-04T10:20:00+00:00",
            }
        ]
    )
    items = [
        line["item"]
        for line in actual_cost(on_throughput, now=datetime.fromisoformat("2026-12-04T11:00:00+00:00"))["lines"]
    ]
    assert items == ["training", "evaluation throughput", "evaluation: baseline", "evaluation: judge"]
