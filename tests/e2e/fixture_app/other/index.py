"""Reports what it sees, so tests can check that functions are isolated from each other."""

import os

import helper
from aws_lambda_powertools import Logger, Metrics

logger = Logger(service="fixture")
metrics = Metrics()
CALLS = {"n": 0}


@logger.inject_lambda_context
def handler(event, context):
    CALLS["n"] += 1
    if event.get("append"):
        logger.append_keys(leaked=event["append"])
    if event.get("fail"):
        raise ValueError(event["fail"])
    return {
        "helper": helper.NAME,
        "who": os.environ.get("WHO"),
        "other_env": os.environ.get("TABLE_NAME"),
        "calls": CALLS["n"],
        "keys": sorted(logger.get_current_keys()),
        "trace_disabled": os.environ.get("POWERTOOLS_TRACE_DISABLED"),
        "function": context.function_name,
    }
