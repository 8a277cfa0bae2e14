"""Secret detection: yara-x finds candidates in one pass, validators decide what is real."""
