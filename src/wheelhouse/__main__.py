from wheelhouse.cli import main

raise SystemExit(main())
