/* elf_exports.c — lists the dynamic symbols a shared object exports (see elf_exports.h). */
#include "elf_exports.h"

#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Adapters are a few hundred kilobytes; anything far larger is not one. */
#define MAX_FILE_BYTES (256u * 1024u * 1024u)

static gw_status read_file(const char *path, unsigned char **out, size_t *len, char *err,
                           size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return GW_ERR_IO;
    }
    gw_status st = GW_ERR_IO;
    unsigned char *buf = NULL;
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        size = ftell(f);
    if (size < 0 || (unsigned long)size > MAX_FILE_BYTES || fseek(f, 0, SEEK_SET) != 0) {
        snprintf(err, errlen, "%s: cannot determine its size, or larger than %u bytes", path,
                 MAX_FILE_BYTES);
        goto done;
    }
    buf = malloc((size_t)size + 1);
    if (!buf) {
        snprintf(err, errlen, "%s: out of memory", path);
        st = GW_ERR_NOMEM;
        goto done;
    }
    if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
        snprintf(err, errlen, "%s: short read", path);
        free(buf);
        buf = NULL;
        goto done;
    }
    *out = buf;
    *len = (size_t)size;
    st = GW_OK;
done:
    fclose(f);
    return st;
}

/* 1 when [off, off + size) lies inside a buffer of len bytes. */
static int in_bounds(size_t len, uint64_t off, uint64_t size)
{
    return off <= len && size <= len - off;
}

gw_status elf_exports_list(const char *path, void (*each)(const char *name, void *ctx),
                           void *ctx, char *err, size_t errlen)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    gw_status st = read_file(path, &buf, &len, err, errlen);
    if (st != GW_OK)
        return st;
    st = GW_ERR_INVALID_ARG;
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)buf;
    if (len < sizeof *eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
        eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_type != ET_DYN) {
        snprintf(err, errlen, "%s: not a 64-bit ELF shared object", path);
        goto done;
    }
    if (eh->e_shentsize != sizeof(Elf64_Shdr) ||
        !in_bounds(len, eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr))) {
        snprintf(err, errlen, "%s: section headers out of bounds", path);
        goto done;
    }
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(buf + eh->e_shoff);
    const Elf64_Shdr *dynsym = NULL;
    for (unsigned i = 0; i < eh->e_shnum && !dynsym; i++)
        if (sh[i].sh_type == SHT_DYNSYM)
            dynsym = &sh[i];
    if (!dynsym || dynsym->sh_link >= eh->e_shnum || dynsym->sh_entsize != sizeof(Elf64_Sym) ||
        !in_bounds(len, dynsym->sh_offset, dynsym->sh_size)) {
        snprintf(err, errlen, "%s: no usable .dynsym section", path);
        goto done;
    }
    const Elf64_Shdr *strtab = &sh[dynsym->sh_link];
    if (!in_bounds(len, strtab->sh_offset, strtab->sh_size) || strtab->sh_size == 0 ||
        buf[strtab->sh_offset + strtab->sh_size - 1] != '\0') {
        snprintf(err, errlen, "%s: .dynstr out of bounds or unterminated", path);
        goto done;
    }
    const char *names = (const char *)buf + strtab->sh_offset;
    const Elf64_Sym *syms = (const Elf64_Sym *)(buf + dynsym->sh_offset);
    size_t count = dynsym->sh_size / sizeof(Elf64_Sym);
    for (size_t i = 1; i < count; i++) {
        const Elf64_Sym *sym = &syms[i];
        unsigned bind = ELF64_ST_BIND(sym->st_info);
        unsigned vis = ELF64_ST_VISIBILITY(sym->st_other);
        if (sym->st_shndx == SHN_UNDEF || (bind != STB_GLOBAL && bind != STB_WEAK) ||
            (vis != STV_DEFAULT && vis != STV_PROTECTED) || sym->st_name >= strtab->sh_size)
            continue;
        each(names + sym->st_name, ctx);
    }
    st = GW_OK;
done:
    free(buf);
    return st;
}
