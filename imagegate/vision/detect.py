"""Face detection: multi-scale CenterFace, weak proposals confirmed by multi-view evidence,
completed by BlazeFace. The networks themselves (loading, running one on an image, decoding what it
gives) are in networks.py; this module decides which images they see and which detections are faces.

Why an ensemble (measured in BENCHMARKS.md): whole-image BlazeFace sees the photo
at 128-192 px and misses most crowd faces; CenterFace finds small faces well but
its low-confidence proposals include clutter and it under-fires on some large
close-ups. So (`FaceDetector._detect` runs these passes in this order):

1. CenterFace on the analysis image (long side <= `analysis_long_side`) finds
   faces of every size down to ~10 px; a coarse CenterFace pass at
   `coarse_long_side` catches close-ups that fill the frame (`_scale_passes`).
2. Proposals scoring >= `accept_score` at any scale are kept (`_centerface_proposals`).
3. Weaker ones (>= `propose_score`) get a second look: CenterFace again on an
   upscaled crop around the proposal and on its mirror image, in one batch.
   Their score at every pyramid scale plus the two crop scores are fused (mean
   of the best `fuse_views`); a proposal is kept when the views agree
   (fused >= `fuse_score`). One high score from one view is not enough, and one
   view that fails (an occluded face seen too closely) does not veto. Kept
   proposals take the crop's box, which was localised at a higher resolution.
   (This replaced a BlazeFace short-range check on the crop: only 7 of the 25
   proposals it confirmed were faces, and it rejected many small real ones.)
   (`_verified_proposals`, `_second_look`)
4. BlazeFace full-range over the whole image adds large faces CenterFace missed;
   its less confident detections are weak proposals checked as in 3 (`_blazeface_proposals`).
5. Overlapping detections are merged by NMS (`_merge`).
6. A close-up cut by the frame, which no pass above sees whole, is looked for on the photo
   shrunk on a grey border (`_add_closeups`); faces the wrong way up on the photo turned
   90/180/270 degrees (`_add_turned_faces`). Both only add faces no other pass found.
7. A detection that is a part of a larger face found again (the chin or the eyes of a face hundreds of
   px tall, see `part_outer_px`) is dropped; a face lying on another face (a child on a cheek) is not
   (`_drop_parts_of_larger_faces`).
8. On request (`settle_below`), small faces are measured on the photo turned so that they stand upright
   (`_settled`).
"""

from __future__ import annotations

import atexit
import threading
import weakref
from dataclasses import dataclass, replace

import cv2
import numpy as np

from ..errors import ModelError
from ..results import Face
from .geometry import clip_box, iou_matrix, nms, rotate_box, rotate_points
from .modelfiles import model_file
from .networks import BLAZEFACE_MODEL, CENTERFACE_MODEL, BlazeFace, CenterFace, decode


@dataclass(frozen=True)
class DetectorSettings:
    analysis_long_side: int = 2048
    coarse_long_side: int = 640
    # Optional third, very coarse pass (0 = off). At 400 px it cost ~12% more
    # time and found nothing the coarse pass plus BlazeFace did not.
    xcoarse_long_side: int = 0
    propose_score: float = 0.15
    accept_score: float = 0.5
    # Weak proposals (propose_score <= score < accept_score) are kept when the
    # evidence of several views agrees: the score at each pyramid scale plus a
    # second look on an upscaled crop and its mirror image (see `_second_look`).
    # The fused score is the mean of the best `fuse_views` view scores.
    fuse_views: int = 3
    fuse_score: float = 0.32
    # Scale passes are decoded down to this score so weak proposals can be
    # matched across scales; below it a view counts as 0.
    evidence_score: float = 0.1
    # Second-look crop: `verify_context` x the proposal's size, resized so the
    # face is ~`verify_face_px` tall (CenterFace's most reliable range; 43 px
    # was both slower and less precise), plus its mirror image if `verify_flip`.
    verify_context: float = 3.0
    verify_face_px: int = 32
    verify_flip: bool = True
    # BlazeFace full-range: accepted at `blazeface_score`, a weak proposal from
    # `blazeface_propose_score`.
    blazeface_score: float = 0.6
    blazeface_propose_score: float = 0.5
    # Faces the wrong way up (no EXIF orientation, people lying down, children held
    # upside down): CenterFace on the photo at `rotated_long_side`, turned 90/180/270
    # degrees. Only confident detections count, as a turned photo offers new clutter.
    rotated_long_side: int = 448
    rotated_score: float = 0.5
    # Close-ups cut by the frame (a selfie from eyebrows to chin): neither network is trained on a face
    # larger than the photo. CenterFace on the photo shrunk to `closeup_long_side` px on a grey border of
    # `closeup_pad` x that size sees such a face whole-sized; confident detections only (0 = off).
    # Faces cut to 0.5 / 0.6 of their box (16 photos): this pass alone found 9 / 15 of them at 160 px on a
    # border of 0.25, and 16 / 16 at 128 px on a border of 0.5 (the face then fits the network's input).
    closeup_long_side: int = 128
    closeup_pad: float = 0.5
    closeup_score: float = 0.5
    # ...and only faces at least `closeup_min_share` of the photo's short side: a smaller face is seen
    # better by the other passes, and this pass, seeing the photo at 128-160 px, took a raised hand, or a
    # chin below the face found, for a face (2 of the 42 portraits at 2000 px).
    closeup_min_share: float = 0.6
    # CenterFace inputs above this many pixels run in strips overlapping by
    # `tile_overlap` px: the activations take ~180 MB per megapixel of input (~550 MB for
    # one 2048 x 1536 pass), and this is most of a worker's peak memory on 12 MP photos.
    # Strips cost ~15 % more time than one pass (the overlap is computed twice).
    # A part of a large face found as a face of its own (the chin, the mouth, the eyes of a face several
    # hundred px tall in the analysis image, far above the sizes CenterFace was trained on: 38 extra
    # "faces" on the 42 portraits at 2000-4000 px, 4 of them from the close-up pass). A detection lying
    # mostly (>= `part_inside` of its area) within a larger one at least `part_outer_px` tall in the
    # analysis image is dropped only when both say it is that face again: (1) one of its eyes, nose or
    # mouth corners lies within `part_landmark` eye spans of the larger face's same point, and (2)
    # CenterFace on a crop of `part_context` x its size, resized so it is `part_face_px` tall (an ordinary
    # size; the larger face is then ~2-4 x that), and on the mirror image, finds no face on it (IoU >=
    # `part_iou`, closer to it than to the larger face) scoring >= `part_score`. Measured: all 23 parts
    # on the portraits at 2000 and 4000 px scored 0.0 there; children's faces pasted on an adult's cheek
    # (96 composites: 4 adults, 2 children, 25-50 % of the adult's face height, either cheek, at the
    # photo's own size and at 3000 px) scored 0.50-0.91 and are kept (tests/vision/test_portraits.py). Either
    # test alone would delete children: 30 of 93 shared a landmark with the adult, and with the child
    # 64 px tall on the crop the adult's face dominated it (38 below 0.3). BENCHMARKS.md section 1b.
    part_inside: float = 0.5
    part_outer_px: float = 256.0
    part_context: float = 3.0
    part_face_px: int = 128
    part_iou: float = 0.4
    part_score: float = 0.3
    part_landmark: float = 0.3
    # A face's size decides whether it counts as identifiable, so it must not depend on which pass found it
    # or which way the photo is turned (faces shrunk to 32-48 px measured up to 40 % apart in the four
    # turns of one photo: BlazeFace's square box upright, CenterFace's box of the face read sideways).
    # Faces below `detect`'s `settle_below` take the box CenterFace gives at the analysis scale on the
    # photo turned so that the face stands upright, the best-scoring one at IoU >= `settle_iou` with the
    # face's: for an upright face the analysis pass already made, for a turned one one more pass per turn.
    settle_iou: float = 0.3
    # On a photo analysed at up to this many pixels, a face is read in all four turns (three more
    # CenterFace passes, ~40 ms each at 0.3 MP), not only the way its landmarks say is upright.
    settle_every_turn_pixels: int = 300_000
    tile_max_pixels: int = 800_000
    tile_overlap: int = 128
    min_face_px: float = 6.0
    nms_iou: float = 0.4
    flip: bool = False

    def to_dict(self) -> dict:
        return dict(self.__dict__)


class FaceDetector:
    """Loads the detection models once; `detect()` is safe to call from one thread at a time."""

    def __init__(self, settings: DetectorSettings | None = None) -> None:
        self.settings = settings or DetectorSettings()
        self._lock = threading.Lock()
        centerface = model_file(CENTERFACE_MODEL)
        full = model_file(BLAZEFACE_MODEL)
        self.model_ids = {m.id: m.sha256[:12] for m in (centerface, full)}
        s = self.settings
        self._centerface: CenterFace | None = CenterFace(centerface, dense_above=s.propose_score,
                                                         tile_max_pixels=s.tile_max_pixels, tile_overlap=s.tile_overlap)
        self._full: BlazeFace | None = BlazeFace(full, s.blazeface_propose_score)
        _LIVE.add(self)

    @property
    def _cf(self) -> CenterFace:
        if self._centerface is None:
            raise ModelError("the face detector has been closed")
        return self._centerface

    @property
    def _bf(self) -> BlazeFace:
        if self._full is None:
            raise ModelError("the face detector has been closed")
        return self._full

    # -- public -----------------------------------------------------------------

    def detect(self, rgb: np.ndarray, *, analysis_long_side: int | None = None,
               settle_below: float = 0.0) -> list[Face]:
        """All faces in an H x W x 3 uint8 RGB image, sorted by position. `analysis_long_side`
        overrides the setting for this photo (a channel that shows photos larger needs smaller faces
        found: at least the size it shows them at). Faces shorter than `settle_below` px are measured
        on the photo turned so that they stand upright (see `settle_iou`): their size then does not
        depend on which way the photo is turned."""
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"expected an H x W x 3 uint8 RGB array, got {rgb.dtype} {rgb.shape}")
        with self._lock:
            if self._centerface is None:
                raise ModelError("the face detector has been closed")
            try:
                return self._detect(rgb, analysis_long_side or self.settings.analysis_long_side, settle_below)
            except cv2.error as exc:  # resizing, dilation
                raise ModelError(f"face detection failed inside OpenCV: {exc}") from None

    def close(self) -> None:
        full = getattr(self, "_full", None)
        if full is not None:
            full.close()
            self._full = None
        self._centerface = None

    def __enter__(self) -> FaceDetector:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- pipeline ---------------------------------------------------------------

    def _detect(self, rgb: np.ndarray, analysis_long_side: int, settle_below: float = 0.0) -> list[Face]:
        """The passes in order (the module's docstring gives the plan, each pass the reason it exists)."""
        h, w = rgb.shape[:2]
        fine_scale = min(1.0, analysis_long_side / max(h, w))
        fine = _resize(rgb, fine_scale)
        passes = self._scale_passes(fine, fine_scale, max(h, w))
        cf_accepted, cf_weak = self._centerface_proposals(passes)
        bf_accepted, bf_weak = self._blazeface_proposals(fine, fine_scale)
        verified = self._verified_proposals(cf_weak + bf_weak, passes, fine, fine_scale)
        faces = self._merge(cf_accepted + bf_accepted + verified, w, h, rotation=0)
        faces = self._add_closeups(faces, fine, fine_scale, w, h)
        faces = self._add_turned_faces(faces, fine, fine_scale, w, h)
        faces = self._drop_parts_of_larger_faces(faces, fine, fine_scale)
        if settle_below > 0:
            faces = self._settled(faces, rgb, fine, fine_scale, passes[0], settle_below)
        return sorted(faces, key=lambda f: (round(f.box[1] / 8), f.box[0]))

    def _scale_passes(self, fine: np.ndarray, fine_scale: float, long_side_px: int) -> list:
        """CenterFace on the analysis image (`fine`, the photo resized by `fine_scale`) and on each coarser
        image that can show something new, as (boxes, scores, landmarks) in the photo's pixels.

        The analysis scale finds faces of every size down to ~10 px; the coarse pass
        (`coarse_long_side`) catches close-ups that fill the frame, on which CenterFace under-fires at
        the analysis scale. Every pass is decoded down to `evidence_score`: a weak proposal's score at
        each scale is one of the views `_fused_score` weighs."""
        s = self.settings
        passes = [self._centerface_pass(fine, fine_scale, s.evidence_score)]
        done = [fine_scale]
        for long_side in (s.coarse_long_side, s.xcoarse_long_side):
            scale = min(1.0, long_side / long_side_px)
            if long_side <= 0 or scale >= min(done) * 0.75:
                continue  # not coarse enough to see anything new
            done.append(scale)
            # derived from the analysis image: resizing a 12 MP photo again costs ~100 ms
            passes.append(self._centerface_pass(_resize(fine, scale / fine_scale), scale, s.evidence_score))
        return passes

    def _centerface_proposals(self, passes: list):
        """The scale passes' detections from `propose_score` up, merged by NMS, as (box, score, landmarks,
        source): those scoring >= `accept_score` are faces, the rest weak proposals for
        `_verified_proposals`. CenterFace's less confident detections include clutter: CenterFace alone
        reached a precision of 0.76 on the WIDER photos, this detector 0.938 (BENCHMARKS.md)."""
        s = self.settings
        cand = passes[0]
        for p in passes[1:]:
            cand = _concat(cand, p)
        propose = cand[1] >= s.propose_score
        cb, cs, cl = (x[propose] for x in cand)
        keep = nms(cb, cs, s.nms_iou)
        cb, cs, cl = cb[keep], cs[keep], cl[keep]
        strong = cs >= s.accept_score
        accepted = [(cb[i], cs[i], cl[i], "centerface") for i in np.flatnonzero(strong)]
        weak = [(cb[i], cs[i], cl[i], "centerface+verify") for i in np.flatnonzero(~strong)]
        return accepted, weak

    def _blazeface_proposals(self, fine: np.ndarray, fine_scale: float):
        """Whole-image BlazeFace full-range: large faces CenterFace missed, as (box, score, landmarks,
        source), accepted from `blazeface_score` and weak proposals below it. A false large face is
        costly downstream (it alone can make a crowd photo need consent), so BlazeFace's less confident
        detections must pass the same multi-view check as CenterFace's."""
        s = self.settings
        accepted, weak = [], []
        for box, score, lm in self._bf.faces(fine, fine_scale):
            if score >= s.blazeface_score:
                accepted.append((box, score, lm, "blazeface"))
            else:
                weak.append((box, score, lm, "blazeface+verify"))
        return accepted, weak

    def _verified_proposals(self, weak: list, passes: list, fine: np.ndarray, fine_scale: float) -> list:
        """The weak proposals that the views agree are faces (`_fused_score` >= `fuse_score`), as (box,
        score, landmarks, source).

        One high score from one view is not enough, and one view that fails (an occluded face seen too
        closely) does not veto. This replaced a BlazeFace short-range check on the crop: only 7 of the 25
        proposals it confirmed were faces, and it rejected many small real ones (BENCHMARKS.md, tried
        and rejected)."""
        s = self.settings
        weak_boxes = np.array([x[0] for x in weak], dtype=np.float64).reshape(-1, 4)
        looks = self._second_look(fine, weak_boxes * fine_scale)
        kept = []
        for (box, score, lm, source), (look, look_flip) in zip(weak, looks, strict=False):
            fused = self._fused_score(box, score, source, passes, (look, look_flip))
            if fused < s.fuse_score:
                continue
            # The crop saw the face larger: its box and landmarks are better localised.
            best = max((v for v in (look, look_flip) if v), key=lambda v: v[1], default=None)
            if best is not None:
                box, lm = best[0] / fine_scale, best[2] / fine_scale
            # Rank verified proposals below any strong one in the final NMS.
            kept.append((box, min(fused, s.accept_score - 1e-3), lm, source))
        return kept

    def _fused_score(self, box: np.ndarray, score: float, source: str, passes: list, looks) -> float:
        """The mean of a weak proposal's best `fuse_views` view scores: its score in each scale pass
        (0 where no detection there overlaps it), BlazeFace's own score for a BlazeFace proposal, and the
        second look's score on the crop and on its mirror image."""
        views = [_match_score(p[0], p[1], box) for p in passes]
        if source.startswith("blazeface"):
            views.append(score)
        views += [look[1] if look else 0.0 for look in looks]
        return float(np.mean(sorted(views)[-self.settings.fuse_views:]))

    def _second_look(self, img: np.ndarray, boxes: np.ndarray):
        """Re-detect each weak proposal with CenterFace on an upscaled crop around it.

        Small and blurred faces sit at the bottom of CenterFace's receptive range at
        the analysis scale; seen again at ~`verify_face_px` tall (and mirrored, which
        decorrelates the network's errors) real faces score clearly higher while
        clutter does not. The crop's detection also gives a better-localised box.
        Returns, per box, the best matching (box, score, landmarks) in `img`
        coordinates -- or None -- for the crop and for its mirror image.
        """
        s = self.settings
        results = []
        for box, views in zip(boxes, self._crop_detections(img, boxes, s.verify_context, s.verify_face_px,
                                                            s.verify_flip), strict=False):
            per_view: list[tuple | None] = [None, None]
            for v, (db, ds, dl) in enumerate(views):
                if not len(db):
                    continue
                ds = np.where(iou_matrix(db, box[None])[:, 0] >= 0.3, ds, 0.0)
                j = int(np.argmax(ds))
                if ds[j] > 0:
                    per_view[v] = (db[j], float(ds[j]), dl[j])
            results.append(per_view)
        return results

    def _crop_detections(self, img: np.ndarray, boxes: np.ndarray, context: float, face_px: int, flip: bool):
        """CenterFace on a square crop of `context` x each box around it, resized so the box is about
        `face_px` tall, and (if `flip`) on the crop's mirror image, batched. Per box, per view: the
        detections (boxes, scores, landmarks) down to `evidence_score`, in `img` coordinates."""
        if len(boxes) == 0:
            return []
        out = max(32, int(round(context * face_px / 32)) * 32)
        crops, origins = _square_crops(img, boxes, context, out)
        views = [crops]
        if flip:
            views.append([np.ascontiguousarray(c[:, ::-1]) for c in crops])
        maps = self._cf.forward_batched([c for v in views for c in v])
        n = len(crops)
        return [[self._crop_view(maps, v * n + i, origin, out, mirrored=v == 1) for v in range(len(views))]
                for i, origin in enumerate(origins)]

    def _crop_view(self, maps: list, j: int, origin, out: int, *, mirrored: bool):
        """The detections in crop `j` of a batch (`out` px square, `origin` = its corner in the image and
        image px per crop px), in the image's coordinates."""
        s = self.settings
        x0, y0, k = origin
        db, ds, dl = decode(*(m[j:j + 1] for m in maps), threshold=s.evidence_score, dense_above=s.propose_score)
        if mirrored and len(db):
            db, dl = _mirror(db, dl, out)
        return db * k + [x0, y0, 0, 0], ds, dl * k + np.tile([x0, y0], 5)

    def _merge(self, detections: list, w: int, h: int, *, rotation: int) -> list[Face]:
        """NMS over one set of (box, score, landmarks, source) detections, clipped to the image, as Faces
        at least `min_face_px` wide and tall."""
        s = self.settings
        if not len(detections):
            return []
        boxes, scores, lms, sources = zip(*detections, strict=False)
        b = np.array(boxes, dtype=np.float64)
        sc = np.array(scores, dtype=np.float64)
        faces = []
        for i in nms(b, sc, s.nms_iou):
            box = clip_box(tuple(float(v) for v in b[i]), w, h)
            if box[2] < s.min_face_px or box[3] < s.min_face_px:
                continue
            lm = tuple((float(x), float(y)) for x, y in np.asarray(lms[i]).reshape(-1, 2))
            turns = _quarter_turns(lm)
            faces.append(Face(box=box, score=float(sc[i]), landmarks=lm, source=sources[i],
                              rotation=rotation if turns is None else turns))
        return faces

    def _add_closeups(self, faces: list[Face], fine: np.ndarray, fine_scale: float, w: int, h: int) -> list[Face]:
        """`faces` and the close-ups cut by the frame that no other pass found (see `closeup_long_side`).

        Without this pass a client's close-up from eyebrows to chin was "no faces found", allowed; with it
        the 16 crops at 0.5 of the face box are all found (2 without). A close-up only adds a face no other
        pass found: the same face found in the frame has about the same box once the close-up's is cut to
        the photo. Not "any face inside it": a close-up's box covers the photo, so every other face is
        inside it, and a small face in a corner must not make the close-up disappear."""
        found = np.array([f.box for f in faces]).reshape(-1, 4)
        closeups = list(self._closeup_detections(fine, fine_scale, found))
        if closeups and len(found):
            closeups = [c for c in closeups if not _same_face(found, np.array(clip_box(c[0], w, h)))]
        return faces + self._merge([(*c, "centerface@closeup") for c in closeups], w, h, rotation=0)

    def _closeup_detections(self, fine: np.ndarray, fine_scale: float, found=()):
        """Confident CenterFace detections on the photo shrunk and set on a grey border (see
        `closeup_long_side`); in the photo's pixels, possibly reaching past its edges (clipped later).
        Faces already `found` (photo pixels) are greyed out first: a small face in a corner otherwise
        draws the network's attention and the close-up's score falls below the threshold."""
        s = self.settings
        if s.closeup_long_side <= 0:
            return
        h, w = fine.shape[:2]
        scale = s.closeup_long_side / max(h, w)
        if scale >= 1:
            return  # a photo this small is seen whole by the other passes
        total = scale * fine_scale  # photo pixels -> `small` pixels
        small = _greyed_out(_resize(fine, scale), found, total)
        pad = int(round(s.closeup_pad * s.closeup_long_side))
        framed = cv2.copyMakeBorder(small, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(128, 128, 128))
        b, sc, lm = self._cf.detect_tile(framed, s.closeup_score)
        least = s.closeup_min_share * min(small.shape[:2])
        for box, score, pts in zip(b, sc, lm, strict=False):
            if score < s.closeup_score or max(box[2], box[3]) < least:
                continue
            box = (box - np.array([pad, pad, 0, 0])) / total
            pts = (np.asarray(pts).reshape(-1, 2) - pad) / total
            yield box, float(score), pts.reshape(-1)

    def _add_turned_faces(self, faces: list[Face], fine: np.ndarray, fine_scale: float, w: int,
                          h: int) -> list[Face]:
        """`faces` and the faces found the wrong way up where the upright passes found nothing, one
        reading per face.

        Photos without EXIF orientation, people lying down, children held upside down: the turned
        passes found the large faces of an upside-down phone photo and of a family huddled over the
        camera (WIDER recall >= 80 px 0.929 -> 0.982, BENCHMARKS.md). Only where the upright passes
        found nothing: CenterFace also fires on some upright faces turned upside down, and an upright
        face must be aligned upright for matching. One face found in two turns keeps the more
        confident reading."""
        turned = list(self._rotated_detections(fine, fine_scale, np.array([f.box for f in faces])))
        if not turned:
            return faces
        for k in (1, 2, 3):
            mine = [(box, score, lm, f"centerface@{k * 90}") for box, score, lm, turns in turned if turns == k]
            faces = faces + self._merge(mine, w, h, rotation=k)
        b = np.array([f.box for f in faces])
        return [faces[i] for i in sorted(nms(b, np.array([f.score for f in faces]), self.settings.nms_iou))]

    def _rotated_detections(self, fine: np.ndarray, fine_scale: float, upright: np.ndarray):
        """Confident CenterFace detections on the photo turned by 90, 180 and 270 degrees that do not
        overlap a face found `upright` (`fine` is the photo resized by `fine_scale`; boxes and results are
        in the photo's pixels)."""
        s = self.settings
        if s.rotated_long_side <= 0:
            return
        h, w = fine.shape[0] / fine_scale, fine.shape[1] / fine_scale
        scale = min(1.0, s.rotated_long_side / max(h, w))
        small = _resize(fine, scale / fine_scale)
        for k in (1, 2, 3):
            turned = np.ascontiguousarray(np.rot90(small, k))
            rb, rs, rl = self._cf.detect(turned, s.rotated_score)
            for box, score, lm in zip(rb, rs, rl, strict=False):
                # turning the turned image back by -k maps its points onto `small`
                back = np.array(rotate_box(box, -k, turned.shape))
                pts = rotate_points(lm.reshape(-1, 2), -k, turned.shape).reshape(-1)
                # a turned box is w/h-swapped, so overlap, not IoU
                if not len(upright) or _overlap(upright, back / scale).max() < 0.3:
                    yield back / scale, float(score), pts / scale, k

    def _drop_parts_of_larger_faces(self, faces: list[Face], fine: np.ndarray, fine_scale: float) -> list[Face]:
        """`faces` without those that are a part of a larger face found again (see `part_outer_px`).

        On phone-sized portraits CenterFace, seeing a face several hundred px tall at the analysis scale,
        also found its chin, mouth or eyes as faces of their own: 17 extra faces on the 42 portraits at
        2000 px, each identifiable by size. A doubtful part (`_doubtful_parts`) is dropped only when the
        second look, at `part_face_px` tall, finds no face on it either: a child's face on an adult's
        cheek shared a landmark with the adult in 30 of 93 composites, and scored 0.50-0.91 there."""
        s = self.settings
        doubtful = self._doubtful_parts(faces, fine_scale)
        if not doubtful:
            return faces
        b = np.array([f.box for f in faces], dtype=np.float64)
        looks = self._crop_detections(fine, np.array([b[i] for i, _ in doubtful]) * fine_scale, s.part_context,
                                      s.part_face_px, True)
        parts = {i for (i, outer), views in zip(doubtful, looks, strict=False)
                 if _score_as_itself(views, b[i], b[outer], fine_scale, s.part_iou) < s.part_score}
        return [f for i, f in enumerate(faces) if i not in parts]

    def _doubtful_parts(self, faces: list[Face], fine_scale: float) -> list:
        """(i, the larger faces it may be a part of) for each of `faces` lying mostly within a larger face
        at least `part_outer_px` tall in the analysis image and sharing one of its eyes, nose or mouth
        corners. Both are also true of a face lying on another face, so this alone decides nothing."""
        s = self.settings
        if s.part_outer_px <= 0 or len(faces) < 2:
            return []
        b = np.array([f.box for f in faces], dtype=np.float64)
        area = b[:, 2] * b[:, 3]
        large = b[:, 3] * fine_scale >= s.part_outer_px
        doubtful = []
        for i in range(len(b)):
            larger = np.flatnonzero((area > area[i]) & large & (_inside_share(b, b[i]) >= s.part_inside))
            outer = [j for j in larger if _shares_a_landmark(faces[i], faces[j], s.part_landmark)]
            if outer:
                doubtful.append((i, outer))
        return doubtful

    def _settled(self, faces: list[Face], rgb: np.ndarray, fine: np.ndarray, fine_scale: float, upright_pass,
                 below: float) -> list[Face]:
        """Faces shorter than `below` px with the box CenterFace reads on the photo turned so that the
        face stands upright, at the analysis scale (see `detect`'s `settle_below`).

        A face's size decides whether it is identifiable: measured by the box of whichever pass found it,
        one face's height differed by up to 40 % between the four turns of a photo, and flags or verdicts
        differed in 56 of the first 102 photo/size pairs (BENCHMARKS.md)."""
        readings = {0: (*upright_pass, rgb.shape[:2])}
        every_turn = fine.shape[0] * fine.shape[1] <= self.settings.settle_every_turn_pixels
        return [f if f.height >= below else self._upright(f, every_turn, rgb, fine, fine_scale, readings)
                for f in faces]

    def _upright(self, f: Face, every_turn: bool, rgb, fine, fine_scale, readings) -> Face:
        """`f` as read upright, or `f` itself if no reading finds it.

        A face read the wrong way round (BlazeFace on a face lying on its side) has wrong landmarks:
        follow what each reading says is upright; on a small photo read the face in every turn. Of the
        readings that agree with their own turn, the most confident is the face upright."""
        order = [f.rotation % 4] + ([k for k in range(4) if k != f.rotation % 4] if every_turn else [])
        tried, found = set(), []
        while order:
            k = order.pop(0)
            if k in tried:
                continue
            tried.add(k)
            reading = self._upright_reading(f, k, rgb, fine, fine_scale, readings)
            if reading is not None:
                score, face = reading
                found.append((face.rotation == k, score, -k, face))
                order.append(face.rotation)
        return max(found, key=lambda x: x[:3])[3] if found else f

    def _upright_reading(self, f: Face, k: int, rgb, fine, fine_scale, readings):
        """(score, `f` as CenterFace reads it on the photo turned by `k` quarter turns), or None."""
        s = self.settings
        if k not in readings:
            shape = (rgb.shape[1], rgb.shape[0]) if k % 2 else rgb.shape[:2]
            readings[k] = (*self._centerface_pass(np.ascontiguousarray(np.rot90(fine, k)), fine_scale,
                                                  s.evidence_score), shape)
        b, sc, lm, shape = readings[k]
        mine = np.array(rotate_box(f.box, k, rgb.shape))
        near = iou_matrix(b, mine[None])[:, 0] >= s.settle_iou if len(b) else np.zeros(0, bool)
        if not near.any():
            return None
        j = int(np.argmax(np.where(near, sc, -1)))
        pts = rotate_points(lm[j].reshape(-1, 2), -k, shape)
        turns = _quarter_turns(pts)
        return float(sc[j]), replace(f, box=clip_box(rotate_box(b[j], -k, shape), rgb.shape[1], rgb.shape[0]),
                                     landmarks=tuple((float(x), float(y)) for x, y in pts),
                                     rotation=k if turns is None else turns)

    def _centerface_pass(self, img: np.ndarray, scale: float, threshold: float):
        b, s, lm = self._cf.detect(img, threshold)
        if self.settings.flip:
            fb, fs, fl = self._cf.detect(np.ascontiguousarray(img[:, ::-1]), threshold)
            fb, fl = _mirror(fb, fl, img.shape[1])
            b, s, lm = _concat((b, s, lm), (fb, fs, fl))
            keep = nms(b, s, 0.5)
            b, s, lm = b[keep], s[keep], lm[keep]
        return b / scale, s, lm / scale


def _match_score(boxes: np.ndarray, scores: np.ndarray, box: np.ndarray, min_iou: float = 0.4) -> float:
    """Best score among `boxes` that overlap `box`; 0 if none does."""
    if len(boxes) == 0:
        return 0.0
    ok = iou_matrix(boxes, box[None])[:, 0] >= min_iou
    return float(scores[ok].max()) if ok.any() else 0.0


def _quarter_turns(landmarks) -> int | None:
    """np.rot90's k that stands the face upright, read off its landmarks.

    CenterFace's landmarks follow the face's roll even where its box does not, so
    a face lying sideways in an upright photo is still recognised as sideways.
    Eyes first, mouth last (two points, or one repeated); None without them.
    """
    pts = np.asarray(landmarks, dtype=np.float64).reshape(-1, 2)
    if len(pts) < 4:
        return None
    down = pts[-2:].mean(axis=0) - pts[:2].mean(axis=0)  # eyes -> mouth
    if not np.any(down):
        return None
    roll = np.degrees(np.arctan2(down[0], down[1]))  # 0: mouth straight below the eyes
    return int(-round(roll / 90)) % 4


def _same_face(found: np.ndarray, box: np.ndarray) -> bool:
    """Whether one of the `found` boxes is the face `box` (a close-up's, cut to the photo) again: about
    the same box, or a box at least a fifth of its area centred in its middle half (the same face,
    found smaller because it is cut by the frame). A small face elsewhere in the photo is not."""
    if iou_matrix(found, box[None])[:, 0].max() >= 0.3:
        return True
    x, y, w, h = box
    cx, cy = found[:, 0] + found[:, 2] / 2, found[:, 1] + found[:, 3] / 2
    central = (abs(cx - (x + w / 2)) <= w / 4) & (abs(cy - (y + h / 2)) <= h / 4)
    return bool(np.any(central & (found[:, 2] * found[:, 3] >= 0.2 * w * h)))


def _score_as_itself(views, box: np.ndarray, outer: np.ndarray, fine_scale: float, min_iou: float) -> float:
    """The best score, over the second look's views (detections in analysis pixels), of a detection that is
    `box` itself: IoU >= `min_iou` with it and more than with any of the larger faces `outer` (photo
    pixels). 0 if none is."""
    best = 0.0
    for db, ds, _ in views:
        if not len(db):
            continue
        db = db / fine_scale
        mine = iou_matrix(db, box[None])[:, 0]
        theirs = iou_matrix(db, outer).max(axis=1)
        ok = (mine >= min_iou) & (mine > theirs)
        if ok.any():
            best = max(best, float(ds[ok].max()))
    return best


def _shares_a_landmark(inner: Face, outer: Face, within: float) -> bool:
    """Whether one of the inner face's eyes, nose or mouth corners lies within `within` of the outer
    face's eye span from the outer's same point: both detections read that feature of one face."""
    a = np.asarray(inner.landmarks, dtype=np.float64).reshape(-1, 2)
    b = np.asarray(outer.landmarks, dtype=np.float64).reshape(-1, 2)
    if len(a) < 5 or len(b) < 5:
        return False
    span = float(np.linalg.norm(b[1] - b[0]))
    return span > 0 and float(np.linalg.norm(a - b, axis=1).min()) <= within * span


def _intersection(boxes: np.ndarray, box) -> np.ndarray:
    """Area of `box` (x, y, w, h) shared with each of `boxes`."""
    bx = np.asarray(box, dtype=np.float64)
    iw = np.minimum(boxes[:, 0] + boxes[:, 2], bx[0] + bx[2]) - np.maximum(boxes[:, 0], bx[0])
    ih = np.minimum(boxes[:, 1] + boxes[:, 3], bx[1] + bx[3]) - np.maximum(boxes[:, 1], bx[1])
    return np.clip(iw, 0, None) * np.clip(ih, 0, None)


def _inside_share(boxes: np.ndarray, box) -> np.ndarray:
    """The share of `box`'s area that lies within each of `boxes`."""
    return _intersection(boxes, box) / max(box[2] * box[3], 1e-9)


def _overlap(boxes: np.ndarray, box) -> np.ndarray:
    """Intersection over the smaller box's area: a turned box is w/h-swapped, so IoU understates overlap."""
    return _intersection(boxes, box) / np.minimum(boxes[:, 2] * boxes[:, 3], box[2] * box[3])


def _mirror(boxes: np.ndarray, lms: np.ndarray, width: int):
    """Map detections made on a horizontally flipped image back to the original."""
    boxes = boxes.copy()
    boxes[:, 0] = width - boxes[:, 0] - boxes[:, 2]
    pts = lms.reshape(-1, 5, 2).copy()
    pts[:, :, 0] = width - pts[:, :, 0]
    pts = pts[:, [1, 0, 2, 4, 3], :]  # a mirrored left eye is the right eye, etc.
    return boxes, pts.reshape(-1, 10)


def _resize(rgb: np.ndarray, scale: float) -> np.ndarray:
    if scale >= 0.999:
        return rgb
    h, w = rgb.shape[:2]
    size = (max(1, int(round(w * scale))), max(1, int(round(h * scale))))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def _square_crops(img: np.ndarray, boxes: np.ndarray, context: float, out: int):
    """A square of `context` x each box's longer side around its centre (black past the image's edges),
    resized to `out` px; and each crop's (x0, y0, image px per crop px) to map detections back."""
    crops, origins = [], []
    for x, y, bw, bh in boxes:
        side = max(4, int(round(max(bw, bh) * context)))
        x0 = int(round(x + bw / 2 - side / 2))
        y0 = int(round(y + bh / 2 - side / 2))
        crop = _crop_padded(img, x0, y0, side)
        interp = cv2.INTER_LINEAR if side < out else cv2.INTER_AREA
        crops.append(cv2.resize(crop, (out, out), interpolation=interp))
        origins.append((x0, y0, side / out))
    return crops, origins


def _greyed_out(small: np.ndarray, boxes: np.ndarray, scale: float) -> np.ndarray:
    """`small` with `boxes` (photo pixels; `scale` maps them onto `small`) filled grey."""
    if not len(boxes):
        return small
    small = small.copy()
    for x, y, bw, bh in boxes:
        small[max(0, int(y * scale)):int(np.ceil((y + bh) * scale)),
              max(0, int(x * scale)):int(np.ceil((x + bw) * scale))] = 128
    return small


def _crop_padded(img: np.ndarray, x0: int, y0: int, side: int) -> np.ndarray:
    h, w = img.shape[:2]
    out = np.zeros((side, side, 3), np.uint8)
    sx0, sy0 = max(0, x0), max(0, y0)
    sx1, sy1 = min(w, x0 + side), min(h, y0 + side)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = img[sy0:sy1, sx0:sx1]
    return out


def _concat(a, b):
    return tuple(np.concatenate([x, y]) for x, y in zip(a, b, strict=False))


# mediapipe detectors raise in __del__ at interpreter exit unless closed first.
_LIVE: weakref.WeakSet[FaceDetector] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for det in list(_LIVE):
        det.close()
