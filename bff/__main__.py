from bff.cli.main import main

raise SystemExit(main())
