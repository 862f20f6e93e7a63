from dlpscan.cli import main

main()
