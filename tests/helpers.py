"""Shared helpers for tests that run golemite itself."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GUESTS = ROOT / "guests"


def guest_bytes(name: str) -> bytes:
    return (GUESTS / name / f"{name}.wasm").read_bytes()
