"""Published hardening guides as profiles: every guide item judged pass, fail, not
applicable or manual, from the findings of the rules that implement it."""
