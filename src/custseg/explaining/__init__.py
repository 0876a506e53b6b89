"""Explaining: profiles, rules and plain-language names of every segment, and the marketing
actions they suggest."""
