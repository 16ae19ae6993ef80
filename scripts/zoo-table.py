#!/usr/bin/env python3
"""zoo-table.py prints the README's table of the built-in autoencoders from their
manifests (zoo/builtin/*/*/*/manifest.json): training and the numbers `latentzoo eval`
recorded, so that the README's numbers are the cards' own."""
import glob
import json
import os

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "zoo", "builtin")
rows = []
for path in sorted(glob.glob(os.path.join(root, "*", "*", "*", "manifest.json"))):
    m = json.load(open(path))
    if m["family"] == "classifier":  # a yardstick
        continue
    run, x = m["run"], m["metrics"]
    training = f'{round(run["epochs"], 1):g} epochs, {run["seconds"] / 3600:.1f} h'
    if run.get("checkpoint") == "best":
        training += f', best step {run["checkpoint_step"]:,}'
    rows.append((
        f'`{m["name"]}`', training,
        f'{x["fid_samples"]:.1f}', f'{x["fid_reconstructions"]:.1f}',
        f'{x["precision"]:.3f}', f'{x["recall"]:.3f}',
        f'{x["accuracy_reconstructions"]:.3f} ({x["accuracy_reconstructions"] / x["accuracy_originals"]:.2f})',
        f'{x["test_mse"]:.5f}', f'{x["test_psnr"]:.2f}', f'{x["test_ssim"]:.3f}', f'{x["test_latent_spread"]:.2f}',
    ))
print("| entry | training | FID samples | FID reconstructions | precision | recall | accuracy on reconstructions (÷ originals) | MSE | PSNR dB | SSIM | latent spread |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for r in rows:
    print("| " + " | ".join(r) + " |")
