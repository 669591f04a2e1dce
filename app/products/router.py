from fastapi import APIRouter

from app.auth.dependencies import AnyRole
from app.paging import PAGED, KeyPart, Page, PageQuery, sorted_page
from app.quality.products import CATALOGUE, Product
from app.schemas import OutputModel


class ThresholdOut(OutputModel):
    characteristic: str
    minimum: float | None
    maximum: float | None
    unit: str
    requirement: str


class ProductOut(OutputModel):
    code: str
    name: str
    standard: str
    use_category: str
    family: str
    uses: list[str]
    thresholds: list[ThresholdOut]
    defect_classes: dict[str, str]


def product_out(product: Product) -> ProductOut:
    return ProductOut(
        code=product.code,
        name=product.name,
        standard=product.standard,
        use_category=product.use_category,
        family=product.family.value,
        uses=list(product.uses),
        thresholds=[
            ThresholdOut(
                characteristic=t.characteristic,
                minimum=t.minimum,
                maximum=t.maximum,
                unit=t.unit,
                requirement=t.text,
            )
            for t in product.thresholds
        ],
        defect_classes={code: cls.value for code, cls in product.defect_classes.items()},
    )


router = APIRouter(prefix="/products", tags=["products"])

_PRODUCTS = sorted((product_out(p) for p in CATALOGUE.values()), key=lambda p: p.code)


def _by_code(product: ProductOut) -> tuple[str]:
    return (product.code,)


@router.get("", operation_id="list_products", responses=PAGED)
async def list_products(_actor: AnyRole, page: PageQuery) -> Page[ProductOut]:
    """The product catalogue shipped with the service (not editable), by code."""
    rows = sorted_page(_PRODUCTS, _by_code, (KeyPart(str),), page)
    return Page(items=rows.rows, next_cursor=rows.next_cursor)
