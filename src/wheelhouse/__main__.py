import sys

try:
    from wheelhouse.cli import main
except KeyboardInterrupt:  # Ctrl-C before anything ran: the same answer as at any moment
    sys.stderr.write("error: interrupted; no partial file was left under a final name.\n")
    raise SystemExit(130) from None

raise SystemExit(main())
