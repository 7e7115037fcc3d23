# The shim's entry point: DllMain(hinstDLL, fdwReason, lpvReserved)
# returns TRUE for every reason; the DLL itself holds only a forwarder
# (bcryptprimitives.def).
	.text
	.globl	DllMain
DllMain:
	movl	$1, %eax
	ret
