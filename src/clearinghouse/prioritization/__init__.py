"""What to fix first: CVSS scores, KEV, EPSS, SSVC decisions and remediation deadlines."""
