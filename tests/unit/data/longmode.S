/*
 * longmode.S - a 30-instruction multiboot "kernel" that enters 64-bit mode
 * and halts, used once to capture qemu72_regs_long_smp2.txt (QEMU 7.2's
 * `info registers -a` of a vCPU in long mode):
 *   as --32 longmode.S -o lm.o && ld -m elf_i386 -Ttext=0x100000 lm.o -o lm.elf
 *   qemu-system-x86_64 -display none -smp 2 -m 64 -kernel lm.elf -qmp ...
 * then QMP stop and human-monitor-command "info registers -a".  The
 * other fixtures: qemu72_regs_reset_smp2.txt (-S, before the first
 * instruction) and qemu72_regs_bios_smp2.txt (1.5 s into SeaBIOS).
 * Files keep QEMU's CRLF line ends as QMP returns them.
 */
	.code32
	.text
	.globl _start
	.align 4
mbhdr:	.long 0x1BADB002, 0, -0x1BADB002
_start:
	mov %cr4, %eax
	or $0x20, %eax
	mov %eax, %cr4
	mov $pml4, %eax
	mov %eax, %cr3
	mov $0xC0000080, %ecx
	rdmsr
	or $0x100, %eax
	wrmsr
	mov %cr0, %eax
	or $0x80000001, %eax
	mov %eax, %cr0
	lgdt gdtr
	ljmp $0x08, $lmode
	.code64
lmode:
	movabs $0x1122334455667788, %rax
	movabs $0x8877665544332211, %r15
	mov $0x9f000, %rsp
1:	hlt
	jmp 1b
	.align 8
gdt:	.quad 0, 0x00209A0000000000
gdtr:	.word 15
	.long gdt
	.data
	.align 4096
pml4:	.long pdpt + 3, 0
	.fill 1022, 4, 0
pdpt:	.long pd + 3, 0
	.fill 1022, 4, 0
pd:	.long 0x83, 0
	.fill 1022, 4, 0
