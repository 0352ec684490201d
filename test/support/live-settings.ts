import type { ContainerdSettings, DockerSettings, LiveSourceSettings, OpenImageOptions, RegistrySettings } from '../../src/image/types.js';

/**
 * Live-source settings for a test file: set step by step (each call merges into what is set, as
 * the CLI flags do) and passed down with every open and scan.
 */
export class TestLiveSettings {
  current: LiveSourceSettings = {};

  registry(s: Partial<RegistrySettings>): void {
    this.current = { ...this.current, registry: { ...this.current.registry, ...s } };
  }

  containerd(s: Partial<ContainerdSettings>): void {
    this.current = { ...this.current, containerd: { ...this.current.containerd, ...s } };
  }

  docker(s: Partial<DockerSettings>): void {
    this.current = { ...this.current, docker: { ...this.current.docker, ...s } };
  }

  resetRegistry(): void {
    this.current = { ...this.current, registry: undefined };
  }

  resetContainerd(): void {
    this.current = { ...this.current, containerd: undefined };
  }

  /** Options for openImage. */
  options(extra: OpenImageOptions = {}): OpenImageOptions {
    return { ...extra, live: this.current };
  }
}
