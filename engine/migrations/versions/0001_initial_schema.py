"""initial schema: users, signals, positions, orders, fills, queue, risk, audit, snapshots

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engine.adapters.sql_models as qm

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = 64


def _id(name: str = "id") -> sa.Column[str]:
    return sa.Column(name, sa.String(length=_ID), nullable=False)


def _at(name: str, nullable: bool = False) -> sa.Column[int]:
    return sa.Column(name, qm.UtcTimestamp(), nullable=nullable)


def _dec(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, qm.ExactDecimal(), nullable=nullable)


def _json(name: str) -> sa.Column[object]:
    return sa.Column(name, qm.JsonDoc, nullable=False)


def _str(name: str, length: int, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String(length=length), nullable=nullable)


def _user_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["user_id"], ["users.id"], name=op.f(f"fk_{table}_user_id_users"), ondelete="CASCADE"
    )


def _pk(table: str, *columns: str) -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint(*columns, name=op.f(f"pk_{table}"))


def _index(table: str, *columns: str) -> None:
    op.create_index(op.f(f"ix_{table}_{'_'.join(columns)}"), table, list(columns), unique=False)


def upgrade() -> None:
    op.create_table(
        "users",
        _id(),
        _str("username", 128),
        _str("webhook_secret", 256),
        _json("config"),
        _at("created_at"),
        _at("updated_at"),
        _pk("users", "id"),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "user_exchange_keys",
        _id("user_id"),
        _str("exchange", 32),
        sa.Column("api_key_encrypted", sa.Text(), nullable=False),
        sa.Column("api_secret_encrypted", sa.Text(), nullable=False),
        _str("api_key_masked", 16),
        sa.Column("testnet", sa.Boolean(), nullable=False),
        _at("updated_at"),
        _user_fk("user_exchange_keys"),
        _pk("user_exchange_keys", "user_id", "exchange"),
    )
    op.create_table(
        "signals",
        _id(),
        _id("user_id"),
        _at("received_at"),
        _json("payload"),
        _str("fingerprint", 128),
        _str("outcome", 32),
        _str("reason", 64, nullable=True),
        _str("group_id", _ID, nullable=True),
        _str("queue_id", _ID, nullable=True),
        _user_fk("signals"),
        _pk("signals", "id"),
    )
    _index("signals", "received_at")
    _index("signals", "user_id", "fingerprint", "received_at")
    op.create_table(
        "signal_fingerprints",
        _id("user_id"),
        _str("fingerprint", 128),
        _id("signal_id"),
        _at("claimed_at"),
        _user_fk("signal_fingerprints"),
        _pk("signal_fingerprints", "user_id", "fingerprint"),
    )
    _index("signal_fingerprints", "claimed_at")
    op.create_table(
        "position_groups",
        _id(),
        _id("user_id"),
        _str("exchange", 32),
        _str("symbol", 64),
        sa.Column("timeframe", sa.Integer(), nullable=False),
        _str("side", 8),
        _str("status", 24),
        sa.Column("pyramid_count", sa.Integer(), nullable=False),
        _dec("average_entry", nullable=True),
        _dec("open_quantity"),
        _dec("realised_pnl"),
        _dec("unrealised_pnl"),
        _at("created_at"),
        _at("updated_at"),
        _at("closed_at", nullable=True),
        _json("extra"),
        _user_fk("position_groups"),
        _pk("position_groups", "id"),
    )
    _index("position_groups", "user_id", "status")
    op.create_table(
        "pyramids",
        _id(),
        _id("group_id"),
        sa.Column("index", sa.Integer(), nullable=False),
        _dec("capital"),
        _dec("leg0_fill_price", nullable=True),
        _at("created_at"),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["position_groups.id"],
            name=op.f("fk_pyramids_group_id_position_groups"),
            ondelete="CASCADE",
        ),
        _pk("pyramids", "id"),
        sa.UniqueConstraint("group_id", "index", name=op.f("uq_pyramids_group_id_index")),
    )
    op.create_table(
        "dca_legs",
        _id(),
        _id("pyramid_id"),
        sa.Column("index", sa.Integer(), nullable=False),
        _str("side", 8),
        _dec("price"),
        _dec("quantity"),
        _str("status", 24),
        _dec("filled_quantity"),
        _dec("average_fill_price", nullable=True),
        _dec("tp_price", nullable=True),
        _dec("closed_quantity"),
        _dec("realised_pnl"),
        _dec("fees"),
        _str("client_order_id", _ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["pyramid_id"],
            ["pyramids.id"],
            name=op.f("fk_dca_legs_pyramid_id_pyramids"),
            ondelete="CASCADE",
        ),
        _pk("dca_legs", "id"),
        sa.UniqueConstraint("pyramid_id", "index", name=op.f("uq_dca_legs_pyramid_id_index")),
    )
    op.create_table(
        "orders",
        _id("client_order_id"),
        _str("exchange_order_id", 128, nullable=True),
        _id("user_id"),
        _str("exchange", 32),
        _str("symbol", 64),
        _str("side", 8),
        _str("type", 16),
        _str("purpose", 16),
        _dec("price", nullable=True),
        _dec("quantity"),
        _str("status", 24),
        _dec("filled_quantity"),
        _dec("average_price", nullable=True),
        _dec("fees"),
        _str("group_id", _ID, nullable=True),
        sa.Column("reduce_only", sa.Boolean(), nullable=False),
        _str("reason", 64, nullable=True),
        _at("created_at"),
        _at("updated_at"),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["position_groups.id"],
            name=op.f("fk_orders_group_id_position_groups"),
            ondelete="CASCADE",
        ),
        _user_fk("orders"),
        _pk("orders", "client_order_id"),
    )
    _index("orders", "group_id")
    _index("orders", "user_id", "status")
    op.create_table(
        "fills",
        sa.Column("id", qm.AutoId, autoincrement=True, nullable=False),
        _id("client_order_id"),
        _str("trade_id", 128),
        _dec("quantity"),
        _dec("price"),
        _dec("fee"),
        _str("fee_asset", 32),
        _at("at"),
        sa.ForeignKeyConstraint(
            ["client_order_id"],
            ["orders.client_order_id"],
            name=op.f("fk_fills_client_order_id_orders"),
            ondelete="CASCADE",
        ),
        _pk("fills", "id"),
        sa.UniqueConstraint(
            "client_order_id", "trade_id", name=op.f("uq_fills_client_order_id_trade_id")
        ),
    )
    op.create_table(
        "queued_signals",
        _id(),
        _id("user_id"),
        _id("signal_id"),
        _str("exchange", 32),
        _str("symbol", 64),
        sa.Column("timeframe", sa.Integer(), nullable=False),
        _str("side", 8),
        _dec("entry_price", nullable=True),
        _dec("order_size", nullable=True),
        _str("size_type", 16),
        _str("reason", 64),
        _str("status", 16),
        sa.Column("replacement_count", sa.Integer(), nullable=False),
        _at("queued_at"),
        _at("updated_at"),
        _json("payload"),
        _user_fk("queued_signals"),
        _pk("queued_signals", "id"),
    )
    _index("queued_signals", "user_id", "status")
    op.create_table(
        "risk_actions",
        _id(),
        _id("user_id"),
        _id("loser_group_id"),
        _dec("loser_loss_percent"),
        _dec("loser_loss_usd"),
        _dec("loser_close_quantity"),
        _dec("covered_usd"),
        _json("winners"),
        _dec("net_usd"),
        _at("at"),
        _user_fk("risk_actions"),
        _pk("risk_actions", "id"),
    )
    _index("risk_actions", "user_id")
    op.create_table(
        "events",
        sa.Column("id", qm.AutoId, autoincrement=True, nullable=False),
        _at("at"),
        _str("category", 16),
        _str("severity", 16),
        sa.Column("message", sa.Text(), nullable=False),
        _json("data"),
        _str("user_id", _ID, nullable=True),
        _str("symbol", 64, nullable=True),
        _str("exchange", 32, nullable=True),
        _pk("events", "id"),
    )
    _index("events", "at")
    _index("events", "category", "at")
    _index("events", "symbol")
    _index("events", "user_id")
    op.create_table(
        "engine_snapshots",
        sa.Column("id", qm.AutoId, autoincrement=True, nullable=False),
        _at("at"),
        _json("data"),
        _pk("engine_snapshots", "id"),
    )


def downgrade() -> None:
    for table in (
        "engine_snapshots",
        "events",
        "risk_actions",
        "queued_signals",
        "fills",
        "orders",
        "dca_legs",
        "pyramids",
        "position_groups",
        "signal_fingerprints",
        "signals",
        "user_exchange_keys",
        "users",
    ):
        op.drop_table(table)
