import sys

try:  # Ctrl-C while the package is still importing: the same one line as later on
    from screening.cli import main
except KeyboardInterrupt:
    print("interrupted", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
