# Shared by the shell test scripts: one "ok"/"not ok" line per check, the
# counts, and the closing line.  Sourced, not run.
passed=0
failed=0

# Run a command as a check named by the first argument
check() {
	local name=$1
	shift
	if "$@"; then
		passed=$((passed + 1))
		echo "ok - $name"
	else
		failed=$((failed + 1))
		echo "not ok - $name"
	fi
}

# Are two non-empty strings equal?
same() { [ "$1" = "$2" ] && [ -n "$1" ]; }

# Print the closing line of a suite and return its status
report() {
	echo "$1: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}
