"""API-level faults: answer a request with an error before moto handles it. Also: serving a
request is work: emulated time does not move while moto serves it (see local.clock).

Wraps ``moto.core.responses.BaseResponse.call_action`` (every service goes through it). The error is
written the way JSON-protocol services write errors (``x-amzn-errortype`` header and ``__type`` in
the body), which is what boto3 parses for bedrock, bedrock-runtime, lambda, states and dynamodb.
"""

from __future__ import annotations

import json

from . import clock, state
from .monkey import replace

_APPLIED = False


def apply() -> None:
    global _APPLIED
    if _APPLIED:
        return
    from moto.core.responses import BaseResponse

    original = BaseResponse.call_action

    def call_action(self):
        faults = state.current().faults
        if faults._api:  # cheap check first: nothing armed, nothing to look up
            try:
                action = self._get_action()
            except Exception:
                action = None
            fault = faults.take_api_fault(self.service_name or "", action or "") if action else None
            if fault is not None:
                body = json.dumps({"__type": fault.code, "message": fault.message})
                headers = dict(self.response_headers)
                headers.update(
                    {"x-amzn-errortype": fault.code, "content-type": "application/json", "status": str(fault.status)}
                )
                return fault.status, headers, body
        with clock.current().busy():  # serving an API call is work: emulated time waits for it
            return original(self)

    replace(BaseResponse, "call_action", call_action)
    _APPLIED = True
