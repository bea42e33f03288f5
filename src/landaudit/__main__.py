from landaudit.cli import main

main()
