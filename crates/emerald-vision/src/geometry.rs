//! Boxes and landmark points in image pixels.

/// Five facial points: right eye, left eye, nose tip, right and left mouth corner.
pub type Landmarks = [[f32; 2]; 5];

/// An axis-aligned box: top-left corner, width and height, in pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BBox {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
}

impl BBox {
    pub fn area(&self) -> f32 {
        self.w.max(0.0) * self.h.max(0.0)
    }

    /// Intersection over union.
    pub fn iou(&self, other: &BBox) -> f32 {
        let ix = (self.x + self.w).min(other.x + other.w) - self.x.max(other.x);
        let iy = (self.y + self.h).min(other.y + other.h) - self.y.max(other.y);
        let inter = ix.max(0.0) * iy.max(0.0);
        let union = self.area() + other.area() - inter;
        if union <= 0.0 {
            0.0
        } else {
            inter / union
        }
    }

    /// The box scaled by `s` about its centre.
    pub fn scaled(&self, s: f32) -> BBox {
        let (cx, cy) = (self.x + self.w / 2.0, self.y + self.h / 2.0);
        BBox { x: cx - self.w * s / 2.0, y: cy - self.h * s / 2.0, w: self.w * s, h: self.h * s }
    }
}
