"""Generators of small, valid test and demo artefacts (.ipa, .apk, .mobileconfig)."""
