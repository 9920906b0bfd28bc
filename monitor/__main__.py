"""`python -m monitor` is the same as the `heatmon` command."""

from monitor.cli import main

raise SystemExit(main())
