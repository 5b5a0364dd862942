"""Deterministic identifiers: groups, queue entries, risk actions and client order ids.

Client order ids are sent to exchanges, so they must survive the strictest venue rules we
target: Binance ``newClientOrderId`` accepts ``^[a-zA-Z0-9-_]{1,36}$`` and Bybit
``orderLinkId`` at most 36 characters. An id is built from
(namespace, group, pyramid, leg, purpose, sequence) only, never from the clock or randomness,
so two runs of the same inputs send byte-identical ids and a runner can look an order up by
its id before re-sending it (SPEC §10).
"""

from __future__ import annotations

import re

from engine.domain import OrderPurpose

__all__ = [
    "MAX_CLIENT_ORDER_ID_LENGTH",
    "validate_namespace",
    "group_id",
    "queue_id",
    "risk_action_id",
    "client_order_id",
    "parse_client_order_id",
    "ClientOrderIdParts",
]

MAX_CLIENT_ORDER_ID_LENGTH = 36
_NAMESPACE_RE = re.compile(r"^[A-Za-z0-9]{1,8}$")
_ALLOWED_RE = re.compile(r"^[A-Za-z0-9_-]{1,36}$")
_CLIENT_ID_RE = re.compile(
    r"^(?P<ns>[A-Za-z0-9]{1,8})-(?P<group>g[0-9]+)-p(?P<pyramid>[0-9]+|x)"
    r"-l(?P<leg>[0-9]+|x)-(?P<purpose>[a-z]+)-(?P<seq>[0-9]+)$"
)


def validate_namespace(namespace: str) -> str:
    """Return ``namespace`` if it is 1-8 ASCII letters or digits, else raise ``ValueError``."""
    if not _NAMESPACE_RE.fullmatch(namespace):
        raise ValueError(
            f"namespace: must be 1-8 ASCII letters or digits (invalid_namespace), got {namespace!r}"
        )
    return namespace


def group_id(number: int) -> str:
    """Id of the ``number``-th position group created by an engine (``g1``, ``g2``...)."""
    return f"g{number}"


def queue_id(number: int) -> str:
    """Id of the ``number``-th queue entry (``qe1``...)."""
    return f"qe{number}"


def risk_action_id(number: int) -> str:
    """Id of the ``number``-th risk action (``ra1``...)."""
    return f"ra{number}"


def client_order_id(
    namespace: str,
    group: str,
    pyramid_index: int | None,
    leg_index: int | None,
    purpose: OrderPurpose,
    sequence: int,
) -> str:
    """Build the exchange client order id, e.g. ``q-g12-p0-l1-dca-0``.

    ``None`` pyramid or leg (orders that span several legs, such as an exit) is written ``x``.
    Raises ``ValueError`` when the result would break the 36-character / charset rule.
    """
    pyramid = "x" if pyramid_index is None else str(pyramid_index)
    leg = "x" if leg_index is None else str(leg_index)
    text = f"{namespace}-{group}-p{pyramid}-l{leg}-{purpose.value}-{sequence}"
    if not _ALLOWED_RE.fullmatch(text):
        raise ValueError(
            f"client_order_id: {text!r} breaks the exchange rule "
            f"[A-Za-z0-9_-]{{1,{MAX_CLIENT_ORDER_ID_LENGTH}}} (invalid_client_order_id)"
        )
    return text


class ClientOrderIdParts:
    """The fields a client order id was built from (see :func:`parse_client_order_id`)."""

    __slots__ = ("group", "leg_index", "namespace", "purpose", "pyramid_index", "sequence")

    def __init__(
        self,
        namespace: str,
        group: str,
        pyramid_index: int | None,
        leg_index: int | None,
        purpose: OrderPurpose,
        sequence: int,
    ) -> None:
        self.namespace = namespace
        self.group = group
        self.pyramid_index = pyramid_index
        self.leg_index = leg_index
        self.purpose = purpose
        self.sequence = sequence


def parse_client_order_id(text: str) -> ClientOrderIdParts | None:
    """Split an id made by :func:`client_order_id`; ``None`` when it is not one of ours."""
    match = _CLIENT_ID_RE.fullmatch(text)
    if match is None:
        return None
    try:
        purpose = OrderPurpose(match["purpose"])
    except ValueError:
        return None
    pyramid = None if match["pyramid"] == "x" else int(match["pyramid"])
    leg = None if match["leg"] == "x" else int(match["leg"])
    return ClientOrderIdParts(match["ns"], match["group"], pyramid, leg, purpose, int(match["seq"]))
