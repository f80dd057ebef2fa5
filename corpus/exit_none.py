# Checks a bare "raise SystemExit" (code None): exit status 0 and nothing on stderr.
print("about to raise SystemExit")
raise SystemExit
