"""A local fake order-status tool for the tools-file tests (imported by path from tools.yaml)."""

from __future__ import annotations

from pydantic import BaseModel, Field

ORDERS = {"1001": "shipped", "1002": "delayed"}


class OrderQuery(BaseModel):
    order_id: str = Field(pattern=r"^\d{4}$")


def order_status(order_id: str) -> dict:
    if order_id not in ORDERS:
        raise LookupError(f"no order {order_id} in the order system")
    return {"order_id": order_id, "status": ORDERS[order_id]}


def needs_more(order_id: str, region: str) -> dict:
    return {}
