"""CloudFormation: custom resources without Docker, and which resource failed.

``Custom::*`` resources (moto's ``CustomModel``) invoke the provider Lambda in a thread and wait for an
HTTP callback that, in-process, nothing serves. Here:

* provider runtime ``nodejs*`` / ``provided*`` (CDK's own providers: ``Custom::VpcRestrictDefaultSG``,
  ``Custom::S3AutoDeleteObjects``, ``Custom::LogRetention``, ``Custom::AWSCDKOpenIdConnectProvider``,
  the ``Provider`` framework ...): cannot run here; the resource **succeeds with no effect** and no
  attributes. Recorded in the journal (``cfn.custom_skipped``).
* provider runtime ``python*`` (e.g. CDK's ``Custom::S3BucketNotifications`` handler, which turns on
  EventBridge notifications): the real handler runs synchronously, in-process, with the Create event
  CloudFormation sends (property values as strings, as CloudFormation passes them). Its response
  PUT to ``ResponseURL`` is captured; ``FAILED`` fails the stack with the handler's reason,
  ``SUCCESS`` makes ``Data`` available to ``Fn::GetAtt``.

Every resource created is tracked so that a failing stack names the resource (``last_resource()``).
"""

from __future__ import annotations

import io
import json
import threading
import uuid
from typing import Any

from . import state
from .monkey import replace

_APPLIED = False
_CURRENT = threading.local()
_RESPONSE_PREFIX = "https://cloudformation-custom-resource-response.emulator.invalid/"


def last_resource() -> tuple[str, str] | None:
    return getattr(_CURRENT, "resource", None)


def _stringify(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, dict):
        return {k: _stringify(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stringify(v) for v in value]
    return value


class _Capture:
    """Temporarily answer PUTs to our ResponseURL, whichever HTTP client the handler uses."""

    def __init__(self) -> None:
        self.responses: dict[str, dict] = {}

    def __enter__(self):
        import urllib.request

        import urllib3

        self._urlopen = urllib.request.urlopen
        self._pool_request = urllib3.PoolManager.request
        capture = self

        def urlopen(url, *args, **kwargs):
            full = url.full_url if hasattr(url, "full_url") else str(url)
            if full.startswith(_RESPONSE_PREFIX):
                body = url.data if hasattr(url, "data") else kwargs.get("data") or (args[0] if args else b"")
                capture.responses[full] = json.loads(body or b"{}")

                class _Resp(io.BytesIO):
                    status = 200
                    reason = "OK"

                    def getcode(self):
                        return 200

                return _Resp(b"")
            return capture._urlopen(url, *args, **kwargs)

        def pool_request(pool, method, url, *args, **kwargs):
            if str(url).startswith(_RESPONSE_PREFIX):
                body = kwargs.get("body")
                capture.responses[str(url)] = json.loads(body or b"{}")

                class _Resp:
                    status = 200
                    reason = "OK"
                    data = b""

                return _Resp()
            return capture._pool_request(pool, method, url, *args, **kwargs)

        urllib.request.urlopen = urlopen
        urllib3.PoolManager.request = pool_request
        return self

    def __exit__(self, *exc):
        import urllib.request

        import urllib3

        urllib.request.urlopen = self._urlopen
        urllib3.PoolManager.request = self._pool_request


def _as_moto_expects(resource_json: dict) -> dict:
    """Template properties in the shape moto's resource models read, where moto differs from CloudFormation."""
    if resource_json.get("Type") == "AWS::KMS::Key" and resource_json.get("Properties", {}).get("Tags"):
        # moto's KMS model reads its API's TagKey/TagValue, CloudFormation writes Key/Value.
        properties = dict(resource_json["Properties"])
        properties["Tags"] = [{"TagKey": tag["Key"], "TagValue": tag["Value"]} for tag in properties["Tags"]]
        return {**resource_json, "Properties": properties}
    if resource_json.get("Type") == "AWS::SSM::Parameter" and isinstance(
        resource_json.get("Properties", {}).get("Tags"), dict
    ):
        # CloudFormation writes SSM parameter tags as a map; moto's model reads the API's Key/Value list.
        properties = dict(resource_json["Properties"])
        properties["Tags"] = [{"Key": key, "Value": value} for key, value in properties["Tags"].items()]
        return {**resource_json, "Properties": properties}
    return resource_json


def apply() -> None:
    global _APPLIED
    if _APPLIED:
        return
    from moto.awslambda.utils import get_backend as get_lambda_backend
    from moto.cloudformation import custom_model, parsing

    original_create = parsing.parse_and_create_resource

    def parse_and_create_resource(logical_id, resource_json, resources_map, account_id, region_name):
        _CURRENT.resource = (logical_id, resource_json.get("Type", "?"))
        return original_create(logical_id, _as_moto_expects(resource_json), resources_map, account_id, region_name)

    parsing.parse_and_create_resource = parse_and_create_resource

    def create_custom(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        from moto.cloudformation import cloudformation_backends

        from . import lambda_runtime

        st = state.current()
        logical_id = kwargs["LogicalId"]
        stack_id = kwargs["StackId"]
        properties = cloudformation_json["Properties"]
        service_token = properties["ServiceToken"]
        fn = get_lambda_backend(account_id, region_name).get_function(service_token)
        request_id = str(uuid.uuid4())
        resource = custom_model.CustomModel(region_name, request_id, logical_id, resource_name)
        cloudformation_backends[account_id][region_name].get_stack(stack_id).add_custom_resource(resource)
        runtime = (fn.run_time or "").lower()
        if not runtime.startswith("python"):
            st.note("cfn.custom_skipped", resource=logical_id, type=kwargs["ResourceType"], runtime=runtime)
            resource.set_data({})
            return resource
        response_url = _RESPONSE_PREFIX + request_id
        event = {
            "RequestType": "Create",
            "ServiceToken": service_token,
            "ResponseURL": response_url,
            "StackId": stack_id,
            "RequestId": request_id,
            "LogicalResourceId": logical_id,
            "ResourceType": kwargs["ResourceType"],
            "ResourceProperties": {
                "ServiceToken": service_token,
                **_stringify({k: v for k, v in properties.items() if k != "ServiceToken"}),
            },
        }
        with _Capture() as capture:
            payload, errored, _logs = lambda_runtime._run_inprocess(fn, event)
        response = capture.responses.get(response_url)
        if response is None:
            detail = json.loads(payload).get("errorMessage") if errored else "the handler did not send a response"
            raise RuntimeError(f"Custom resource {logical_id} ({kwargs['ResourceType']}) failed: {detail}")
        if response.get("Status") != "SUCCESS":
            raise RuntimeError(
                f"Custom resource {logical_id} ({kwargs['ResourceType']}) failed: {response.get('Reason')}"
            )
        resource.resource_name = response.get("PhysicalResourceId") or resource_name
        resource.set_data(response.get("Data") or {})
        st.note("cfn.custom_ran", resource=logical_id, type=kwargs["ResourceType"])
        return resource

    replace(custom_model.CustomModel, "create_from_cloudformation_json", classmethod(create_custom))

    from moto.s3.models import FakeBucket

    original_bucket = FakeBucket.__dict__["create_from_cloudformation_json"].__func__  # the classmethod's function

    def create_bucket(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        # moto's bucket model ignores NotificationConfiguration; the native EventBridge switch is what
        # makes S3 send Object Created events to the default bus.
        bucket = original_bucket(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        notifications = cloudformation_json.get("Properties", {}).get("NotificationConfiguration") or {}
        versioning = (cloudformation_json.get("Properties", {}).get("VersioningConfiguration") or {}).get("Status")
        if versioning in ("Enabled", "Suspended"):
            # moto's bucket model ignores VersioningConfiguration too; without it every upload of a key would
            # look like the same object version.
            bucket.versioning_status = versioning
        if (notifications.get("EventBridgeConfiguration") or {}).get("EventBridgeEnabled") in (True, "true"):
            bucket.set_notification_configuration({"EventBridgeConfiguration": {}})
            state.current().note("cfn.s3_eventbridge_enabled", bucket=bucket.name)
        return bucket

    replace(FakeBucket, "create_from_cloudformation_json", classmethod(create_bucket))
    _APPLIED = True
