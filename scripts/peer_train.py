#!/usr/bin/python3
"""The PyTorch peer of latentzoo's TrainStep benchmark.

It trains, on synthetic 32x32 grey images, the nets of the built-in backbone exactly as
`latentzoo train` builds them by default (models.DefaultBackbone: conv 32/64/128 k4 s2
with leaky ReLUs, latent 32, no batch norm; the mirror-image decoder) and prints images
per second:

  vae    the VAE's iteration: summed BCE from logits plus KL, Adam lr 1e-3, batch 64.
  dcvae  DC-VAE's iteration at batch 128: a discriminator step (GAN loss against
         reconstructions and samples, each weighed 1/2, plus the instance-level
         contrast of two heads against queues of 4096 embeddings, and the local-patch
         contrast) and an autoencoder step through the fixed discriminator, Adam lr 2e-4,
         betas (0, 0.9), spectral norm on the discriminator.

Both intra-op pools (OpenMP's, which PyTorch's kernels use, and OpenBLAS's) get the same
thread count, --threads (2), set before torch loads. Eager mode, float32, no autograd
tricks a user would not write.

  python3 scripts/peer_train.py --family vae --steps 20
"""

import argparse
import os
import sys
import time


def parse():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--family", choices=["vae", "dcvae"], required=True)
    p.add_argument("--steps", type=int, default=20, help="timed iterations, after --warmup")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    return p.parse_args()


args = parse()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(args.threads)

import torch  # noqa: E402  (after the thread counts)
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(args.threads)
torch.manual_seed(1)
dev = torch.device(args.device)

WIDTHS, LATENT, EMBED, QUEUE, TEMP = (32, 64, 128), 32, 16, 4096, 0.07


def trunk(sn=False):
    """The encoder's conv trunk: stride-2 k4 convs, leaky ReLU 0.2, as a list of stages."""
    wrap = nn.utils.parametrizations.spectral_norm if sn else (lambda m: m)
    stages, c = [], 1
    for w in WIDTHS:
        stages.append(nn.Sequential(wrap(nn.Conv2d(c, w, 4, 2, 1)), nn.LeakyReLU(0.2)))
        c = w
    return nn.ModuleList(stages)


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.trunk = trunk()
        self.mu = nn.Linear(WIDTHS[-1] * 16, LATENT)
        self.logvar = nn.Linear(WIDTHS[-1] * 16, LATENT)

    def forward(self, x):
        for s in self.trunk:
            x = s(x)
        x = x.flatten(1)
        return self.mu(x), self.logvar(x)


class Decoder(nn.Module):
    """Latent to image logits; the image is their sigmoid."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(LATENT, WIDTHS[-1] * 16)
        layers, c = [], WIDTHS[-1]
        for w in list(reversed(WIDTHS[:-1])) + [1]:
            layers.append(nn.ConvTranspose2d(c, w, 4, 2, 1))
            if w != 1:
                layers.append(nn.ReLU())
            c = w
        self.net = nn.Sequential(*layers)

    def forward(self, z):
        return self.net(F.relu(self.fc(z)).view(-1, WIDTHS[-1], 4, 4))


class Discriminator(nn.Module):
    """DC-VAE's D: the trunk with spectral norm and its logit, embedding and patch heads."""

    def __init__(self):
        super().__init__()
        sn = nn.utils.parametrizations.spectral_norm
        self.trunk = trunk(sn=True)
        self.logit = sn(nn.Linear(WIDTHS[-1] * 16, 1))
        self.embed = self.head(WIDTHS[-1], 4)
        self.embed_mid = self.head(WIDTHS[-2], 8)

    @staticmethod
    def head(ch, side):
        sn = nn.utils.parametrizations.spectral_norm
        red = max(ch // 4, 1)
        return nn.Sequential(sn(nn.Conv2d(ch, red, 1)), nn.Flatten(), sn(nn.Linear(red * side * side, EMBED)))

    def forward(self, x):
        x = self.trunk[0](x)
        mid = self.trunk[1](x)
        last = self.trunk[2](mid)
        return {
            "logit": self.logit(last.flatten(1)),
            "embed": F.normalize(self.embed(last), dim=1, eps=1e-12),
            "embed_mid": F.normalize(self.embed_mid(mid), dim=1, eps=1e-12),
            "patch": mid,
        }


def kl(mu, logvar):
    return (-0.5 * (1 + logvar - mu.square() - logvar.exp()).sum(1)).mean()


def bce(logits, x):
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum((1, 2, 3)).mean()


def info_nce(q, k, queue):
    logits = [q @ k.t()]
    if queue is not None:
        logits.append(q @ queue.t())
    pos = (q * k).sum(1) / TEMP
    return (torch.logsumexp(torch.cat(logits, 1) / TEMP, 1) - pos).mean()


def patch(maps, loc):
    return F.normalize(maps.flatten(2)[:, :, loc], dim=1, eps=1e-12)


def vae_step(enc, dec, opt, x):
    mu, logvar = enc(x)
    z = mu + (0.5 * logvar).exp() * torch.randn_like(mu)
    loss = bce(dec(z), x) + kl(mu, logvar)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


class DCVAE:
    def __init__(self):
        self.enc, self.dec, self.d = Encoder().to(dev), Decoder().to(dev), Discriminator().to(dev)
        self.opt_ae = torch.optim.Adam([*self.enc.parameters(), *self.dec.parameters()], lr=2e-4, betas=(0, 0.9))
        self.opt_d = torch.optim.Adam(self.d.parameters(), lr=2e-4, betas=(0, 0.9))
        self.queue = F.normalize(torch.randn(QUEUE, EMBED, device=dev), dim=1)
        self.queue_mid = F.normalize(torch.randn(QUEUE, EMBED, device=dev), dim=1)
        self.step_n = 0

    def contrast(self, real, rec, loc, on):
        last = info_nce(rec["embed"], real["embed"], self.queue)
        mid = info_nce(rec["embed_mid"], real["embed_mid"], self.queue_mid)
        p = info_nce(patch(rec["patch"], loc), patch(real["patch"], loc), None)
        return (last + mid + on * p) / (2 + on)

    def step(self, x):
        n = x.shape[0]
        loc, on = int(torch.randint(64, ())), float(self.step_n >= 2000)
        # The discriminator's phase: the autoencoder's images detached.
        with torch.no_grad():
            mu, logvar = self.enc(x)
            rec = torch.sigmoid(self.dec(mu + (0.5 * logvar).exp() * torch.randn_like(mu)))
            smp = torch.sigmoid(self.dec(torch.randn(n, LATENT, device=dev)))
        real, fr, fs = self.d(x), self.d(rec), self.d(smp)
        gan = F.softplus(-real["logit"]).mean() + 0.5 * (F.softplus(fr["logit"]).mean() + F.softplus(fs["logit"]).mean())
        loss = gan + self.contrast(real, fr, loc, on)
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_d.step()
        # The autoencoder's phase, through the discriminator held fixed.
        self.d.requires_grad_(False)
        mu, logvar = self.enc(x)
        rec = torch.sigmoid(self.dec(mu + (0.5 * logvar).exp() * torch.randn_like(mu)))
        smp = torch.sigmoid(self.dec(torch.randn(n, LATENT, device=dev)))
        real, fr, fs = self.d(x), self.d(rec), self.d(smp)
        gan = F.softplus(-fr["logit"]).mean() + F.softplus(-fs["logit"]).mean()
        loss = self.contrast(real, fr, loc, on) + 1e-4 * kl(mu, logvar) + gan
        self.opt_ae.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_ae.step()
        self.d.requires_grad_(True)
        with torch.no_grad():
            self.queue = torch.cat([real["embed"].detach(), self.queue[:-n]])
            self.queue_mid = torch.cat([real["embed_mid"].detach(), self.queue_mid[:-n]])
        self.step_n += 1


def main():
    batch = 64 if args.family == "vae" else 128
    data = [torch.rand(batch, 1, 32, 32, device=dev) for _ in range(4)]
    if args.family == "vae":
        enc, dec = Encoder().to(dev), Decoder().to(dev)
        opt = torch.optim.Adam([*enc.parameters(), *dec.parameters()], lr=1e-3)
        step = lambda x: vae_step(enc, dec, opt, x)  # noqa: E731
    else:
        step = DCVAE().step
    for i in range(args.warmup):
        step(data[i % len(data)])
    if dev.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for i in range(args.steps):
        step(data[i % len(data)])
    if dev.type == "cuda":
        torch.cuda.synchronize()
    secs = time.perf_counter() - start
    print(f"peer {args.family} {args.device} torch {torch.__version__} threads {torch.get_num_threads()}: "
          f"{args.steps * batch / secs:.1f} img/s")


if __name__ == "__main__":
    sys.exit(main())
