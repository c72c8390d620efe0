"""Powertools' ``event_parser`` with the types it has at run time.

Powertools declares ``event_parser`` as a bare ``Callable``, so each handler it wraps would lose its
types. What it does is documented: the handler takes the parsed model and Lambda calls the wrapper with
the raw event dictionary. This says so once; the parsing is still Powertools'.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

EventT = TypeVar("EventT", bound=BaseModel)
ResultT = TypeVar("ResultT")

RawHandler = Callable[[dict[str, Any], LambdaContext], ResultT]
ParsedHandler = Callable[[EventT, LambdaContext], ResultT]


def parsed_event(model: type[EventT]) -> Callable[[ParsedHandler[EventT, ResultT]], RawHandler[ResultT]]:
    """``@event_parser(model=model)``: the handler receives ``model``, validated from the raw event."""
    decorator: Callable[[ParsedHandler[EventT, ResultT]], RawHandler[ResultT]] = event_parser(model=model)
    return decorator
