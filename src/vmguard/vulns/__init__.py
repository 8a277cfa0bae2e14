"""Vulnerable software: OSV advisories imported offline, version ordering per ecosystem,
matching against an image's packages, and SBOMs.

Never reaches the network: advisories come only from files the user imported.
"""
