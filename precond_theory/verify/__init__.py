"""Verification pipeline: claim -> assumptions -> instances -> runs -> statistics -> verdict."""
