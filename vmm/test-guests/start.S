// Entry of every test guest. kvrun-vmm jumps here in 64-bit long mode with the 4 GiB identity
// map, interrupts off and rsi = boot_params. We take our own stack (the VMM's at 0x8ff0 is tiny
// and shares a page with its page tables), clear .bss, run guest_main and report its return
// value through the exit port.

	.section .text.start, "ax"
	.globl _start
	.type _start, @function
_start:
	cli
	cld
	mov	%rsi, %r12			// keep boot_params across the .bss clear

	lea	__bss_start(%rip), %rdi
	lea	__bss_end(%rip), %rcx
	sub	%rdi, %rcx
	xor	%eax, %eax
	rep stosb

	lea	stack_top(%rip), %rsp
	xor	%ebp, %ebp
	mov	%r12, %rdi
	call	guest_main

	mov	$0x510, %dx			// KVRUN_EXIT_PORT
	out	%al, %dx
1:	cli
	hlt
	jmp	1b
	.size _start, . - _start

	.section .bss
	.balign 16
stack_bottom:
	.skip 16384
stack_top:

	.section .note.GNU-stack, "", @progbits
