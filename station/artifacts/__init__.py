"""Readers for the files a blueprint references: .ipa, .apk, .mobileconfig."""
