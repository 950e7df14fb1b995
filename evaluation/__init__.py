"""Evaluation: scores of every stage against gold labels, and the demo that runs them all.

This subpackage imports the stages (ingest, mining, engine, offline_runtime); no stage imports it,
so what is measured is the shipped code, and measuring can never change what ships.
"""
