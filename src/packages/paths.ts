/**
 * Where package databases live and how much of each a source may read. Caps are large (real
 * databases of big images are tens of MB) but bounded, so memory stays bounded too.
 */
export const MiB = 1024 * 1024;

export const PACKAGE_DB_PROBES: ReadonlyArray<{ glob: string; maxBytes: number }> = [
  { glob: '/var/lib/dpkg/status', maxBytes: 64 * MiB },
  // Distroless images: one control paragraph per package (and *.md5sums we skip when parsing).
  { glob: '/var/lib/dpkg/status.d/*', maxBytes: 4 * MiB },
  { glob: '/lib/apk/db/installed', maxBytes: 64 * MiB },
  { glob: '/var/lib/rpm/Packages', maxBytes: 512 * MiB },
  { glob: '/var/lib/rpm/rpmdb.sqlite', maxBytes: 512 * MiB },
  { glob: '/usr/lib/sysimage/rpm/rpmdb.sqlite', maxBytes: 512 * MiB },
  { glob: '/usr/lib/sysimage/rpm/Packages', maxBytes: 512 * MiB },
  // SUSE's ndb backend (SLE 15 SP3+, openSUSE Leap 15.3+).
  { glob: '/usr/lib/sysimage/rpm/Packages.db', maxBytes: 512 * MiB },
  { glob: '/var/lib/rpm/Packages.db', maxBytes: 512 * MiB },
];

/** ISO 19770-2 SWID tags, wherever a product drops them. */
export const SWID_PROBE = { glob: '**/*.swidtag', maxBytes: 256 * 1024 } as const;
