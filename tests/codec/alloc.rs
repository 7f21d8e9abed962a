//! Allocation count of the decode path: an IAM without unknown parameters decodes through
//! [`IsupView`] — numbers included — without a single heap allocation.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use tandem::isup::codec::{
    CalledPartyNumber, CallingPartyNumber, ForwardCallIndicators, IsupView, Parameter, Variant,
};

struct Counting;

thread_local! {
    // Per thread, so tests running in parallel do not count each other's allocations.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|count| count.set(count.get() + 1));
        // SAFETY: forwards the caller's layout to the system allocator unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

#[test]
fn iam_decode_through_the_view_does_not_allocate() {
    // IAM, CIC 17: called 30123456789 (national), calling 4940123456 (international, network
    // provided), hop counter, transmission medium used.
    let bytes = crate::hex_to_bytes(
        "1100 01 00 2001 0a 00 02 0a 08 8310 032143658709 0a 07 0413 9404214365 3d011f 350100 00",
    );
    let before = allocations();
    let view = IsupView::decode(&bytes, Variant::Itu).unwrap();
    let called = view.typed::<CalledPartyNumber>().unwrap().unwrap();
    let calling = view.typed::<CallingPartyNumber>().unwrap().unwrap();
    let forward = view.typed::<ForwardCallIndicators>().unwrap().unwrap();
    let count = view.optional_parameters().count();
    let unknown = view.has_unknown_parts();
    let after = allocations();
    assert_eq!(after - before, 0, "allocations during decode");
    assert_eq!(called.digits.to_string(), "30123456789");
    assert_eq!(calling.digits.to_string(), "4940123456");
    assert!(forward.isdn_user_part);
    assert_eq!(count, 3);
    assert!(!unknown);
    // The counter does count: the owned form allocates.
    let before = allocations();
    let owned = view.to_message();
    assert!(allocations() > before);
    assert_eq!(owned.encode(), bytes);
    let _ = CalledPartyNumber::decode(&[0x83, 0x10, 0x21]);
}
