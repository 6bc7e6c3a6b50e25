"""Analytic cases."""
