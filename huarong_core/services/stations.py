"""Handlers of the service catalogue of each station, service requests and their workflow."""

from __future__ import annotations
