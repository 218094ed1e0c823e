"""What the script tests share: named checks that report failures as they happen and a
summary that decides the exit status.

    from script_checks import check, summary
    check("stats json", code == 0, err)
    ...
    return summary()       # prints "N passed, M failed"; 1 when anything failed
"""

results = {"passed": 0, "failed": 0}


def check(name, condition, detail=""):
    if condition:
        results["passed"] += 1
    else:
        results["failed"] += 1
        print(f"FAIL {name}\n{detail}")
    return condition


def summary():
    print(f"{results['passed']} passed, {results['failed']} failed")
    return 1 if results["failed"] else 0
