"""Reporting for analysts: exports of the KPIs and the flat bookings."""
