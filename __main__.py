from guideminer.cli import main

main()
