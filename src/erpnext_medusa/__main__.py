from erpnext_medusa.cli import main

main()
